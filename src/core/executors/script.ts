import type { ExecutorConfig } from '../config/schema.ts';
import { StepFailure } from '../engine/failure.ts';
import { readJsonFile } from '../engine/workspace.ts';
import type { Executor, ExecutorContext } from './executor.ts';
import { planTextCollector, runExecutorStep } from './executor.ts';
import { PlanDocumentError, summarizePlanDocument, UNKNOWN_PLAN } from './plan-summary.ts';

type ScriptConfig = Extract<ExecutorConfig, { kind: 'script' }>;

function run(
  ctx: ExecutorContext,
  config: ScriptConfig,
  phase: 'plan' | 'execute' | 'rollback',
  name: string,
  command: string,
  onLine = ctx.onLine,
) {
  return runExecutorStep(ctx, {
    label: `${name} step ${command}`,
    command,
    phase,
    stepPhase: name === 'destroyPlan' ? 'plan' : name,
    env: ctx.env,
    timeoutMs: config.timeout,
    onLine,
    launchFailure: (error) =>
      new StepFailure(
        phase === 'plan' ? 'detect' : phase,
        error.message,
        `${error.message} (executor.${name} in the deployment's config)`,
      ),
  });
}

export async function readOutputs(file: string): Promise<Record<string, unknown> | null> {
  const found = await readJsonFile(file);
  if (!found.found) return null;
  try {
    const value: unknown = JSON.parse(found.text);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new StepFailure(
      'execute',
      `the outputs file (DEPLOY_OUTPUTS_FILE) is not a JSON object: ${(error as Error).message}`,
      'the change was made, but its outputs were not recorded: make the step write a JSON object like {"url":"…"}',
    );
  }
}

export function scriptExecutor(config: ScriptConfig): Executor {
  return {
    async plan(ctx) {
      const destroying = ctx.kind === 'destroy';
      const command = destroying ? config.destroyPlan : config.plan;
      const collector = planTextCollector(ctx);
      if (command === undefined) {
        ctx.system(
          'no destroyPlan step is configured: the destroy step removes everything the deployment manages',
        );
        return {
          summary: UNKNOWN_PLAN,
          text: 'destroy everything this deployment manages (no destroyPlan step configured)',
        };
      }
      await run(
        ctx,
        config,
        'plan',
        destroying ? 'destroyPlan' : 'plan',
        command,
        collector.onLine,
      );
      const doc = await readJsonFile(ctx.workspace.planFile);
      if (!doc.found) return { summary: UNKNOWN_PLAN, text: collector.text() };
      try {
        return { summary: summarizePlanDocument(doc.text), text: collector.text() };
      } catch (error) {
        if (error instanceof PlanDocumentError) {
          throw new StepFailure(
            'plan',
            error.message,
            `fix what the plan step writes to DEPLOY_PLAN_FILE: ${error.message}`,
          );
        }
        throw error;
      }
    },
    async change(ctx) {
      const destroying = ctx.kind === 'destroy';
      const command = destroying ? config.destroy : config.apply;
      if (command === undefined) {
        throw new StepFailure(
          'execute',
          'this deployment has no destroy step',
          'add executor.destroy to the deployment config',
        );
      }
      await run(ctx, config, 'execute', destroying ? 'destroy' : 'apply', command);
      return destroying ? null : readOutputs(ctx.workspace.outputsFile);
    },
    rollback:
      config.rollback === undefined
        ? null
        : async (ctx) => {
            await run(ctx, config, 'rollback', 'rollback', config.rollback!);
          },
  };
}
