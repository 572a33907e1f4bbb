// Terraform / OpenTofu: init, plan -out into the artifact directory (stored and
// restored, so apply runs exactly the approved plan on any worker), show -json
// for the summary, apply of the saved plan, output -json for the outputs.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutorConfig } from '../config/schema.ts';
import { StepFailure } from '../engine/failure.ts';
import { MASK } from '../logs/redact.ts';
import type { Executor, ExecutorContext } from './executor.ts';
import { planTextCollector, runExecutorStep } from './executor.ts';
import { PlanDocumentError, summarizeTerraformPlan } from './plan-summary.ts';
import { resolveCommand, runStep, type StepStream } from './process.ts';

type TerraformConfig = Extract<ExecutorConfig, { kind: 'terraform' }>;

const PLAN_FILE = 'tfplan';

export function terraformEnv(ctx: ExecutorContext): Record<string, string> {
  const env: Record<string, string> = { ...ctx.env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' };
  for (const [name, value] of Object.entries(ctx.variables)) env[`TF_VAR_${name}`] = String(value);
  return env;
}

export function terraformExecutor(config: TerraformConfig, baseDir: string): Executor {
  const binary = config.binary.includes('/') ? path.resolve(baseDir, config.binary) : config.binary;
  const name = path.basename(binary);

  function tf(
    ctx: ExecutorContext,
    phase: 'plan' | 'execute' | 'rollback',
    args: string[],
    onLine: (stream: StepStream, line: string) => void = ctx.onLine,
  ) {
    return runExecutorStep(ctx, {
      label: `${name} ${args[0]}`,
      command: [binary, ...args],
      phase,
      stepPhase: phase === 'execute' ? (ctx.kind === 'destroy' ? 'destroy' : 'apply') : phase,
      env: terraformEnv(ctx),
      timeoutMs: config.timeout,
      onLine,
      launchFailure: (error) => {
        const missing = error.code === 'not_found';
        return new StepFailure(
          phase === 'plan' ? 'detect' : phase,
          missing ? `${binary} is not installed on this worker` : error.message,
          missing
            ? `install ${name} on the workers, or set executor.binary to its path (terraform, tofu or a path)`
            : error.message,
        );
      },
    });
  }

  const planPath = (ctx: ExecutorContext) => path.join(ctx.workspace.artifactDir, PLAN_FILE);

  return {
    async identity(ctx) {
      const [program] = resolveCommand([binary], ctx.workspace.srcDir, name, ctx.env.PATH);
      const digest = createHash('sha256')
        .update(await readFile(program ?? binary))
        .digest('hex');
      const lines: string[] = [];
      // Run like any step: in the sandbox, as the step user.
      const result = await runStep({
        label: `${name} version`,
        command: [binary, 'version'],
        cwd: ctx.workspace.srcDir,
        env: terraformEnv(ctx),
        timeoutMs: 30_000,
        onLine: (stream, line) => {
          if (stream === 'stdout' && line.trim()) lines.push(line.trim());
        },
        signal: ctx.signal,
        sandbox: ctx.sandbox,
      });
      const version = result.outcome === 'succeeded' ? (lines[0] ?? 'no version') : 'no version';
      return `${name} sha256:${digest} (${version})`;
    },
    async plan(ctx) {
      await tf(ctx, 'plan', ['init', '-input=false', '-no-color']);
      const collector = planTextCollector(ctx);
      const destroy = ctx.kind === 'destroy' ? ['-destroy'] : [];
      await tf(
        ctx,
        'plan',
        ['plan', '-input=false', '-no-color', ...destroy, `-out=${planPath(ctx)}`],
        collector.onLine,
      );
      // The JSON plan holds every value, sensitive ones included: it is parsed, never logged.
      const json: string[] = [];
      await tf(ctx, 'plan', ['show', '-json', planPath(ctx)], (stream, line) => {
        if (stream === 'stdout') json.push(line);
        else ctx.onLine(stream, line);
      });
      try {
        return {
          summary: summarizeTerraformPlan(JSON.parse(json.join('\n'))),
          text: collector.text(),
        };
      } catch (error) {
        const message =
          error instanceof PlanDocumentError || error instanceof SyntaxError
            ? error.message
            : String(error);
        throw new StepFailure(
          'plan',
          `${name} show -json gave an unreadable plan: ${message}`,
          `check the ${name} version on the workers (1.0 or newer is needed)`,
        );
      }
    },
    async change(ctx) {
      await tf(ctx, 'execute', ['init', '-input=false', '-no-color']);
      await tf(ctx, 'execute', [
        'apply',
        '-input=false',
        '-no-color',
        '-auto-approve',
        planPath(ctx),
      ]);
      if (ctx.kind === 'destroy') return null;
      const json: string[] = [];
      await tf(ctx, 'execute', ['output', '-json', '-no-color'], (stream, line) => {
        if (stream === 'stdout') json.push(line);
        else ctx.onLine(stream, line);
      });
      return parseTerraformOutputs(json.join('\n'));
    },
    rollback:
      config.rollback === undefined
        ? null
        : (ctx) =>
            runExecutorStep(ctx, {
              label: `rollback step ${config.rollback}`,
              command: config.rollback!,
              phase: 'rollback',
              stepPhase: 'rollback',
              env: terraformEnv(ctx),
              timeoutMs: config.timeout,
              launchFailure: (error) =>
                new StepFailure('rollback', error.message, `${error.message} (executor.rollback)`),
            }),
  };
}

/** `terraform output -json` → { name: value }, sensitive outputs masked. */
export function parseTerraformOutputs(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const doc = JSON.parse(text) as Record<string, { value?: unknown; sensitive?: boolean }>;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(doc)) out[key] = entry?.sensitive ? MASK : entry?.value;
  return out;
}
