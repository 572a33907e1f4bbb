// What the engine asks of an executor. Both kinds run real child processes
// through runStep; they differ in which commands they run.

import { failureOf, type StepFailure } from '../engine/failure.ts';
import type { Workspace } from '../engine/workspace.ts';
import type { Phase } from '../lifecycle/statuses.ts';
import { StepLaunchError } from './launch-error.ts';
import type { PlanSummary } from './plan-summary.ts';
import type { SandboxedStep } from './prestart.ts';
import { runStep, type StepResult, type StepStream } from './process.ts';

export type ExecutorContext = {
  readonly runId: string;
  readonly kind: 'execute' | 'destroy';
  readonly workspace: Workspace;
  /** Environment every step gets (base + DEPLOY_* + variables). */
  readonly env: Readonly<Record<string, string>>;
  /** Variables by name, for executors that pass them their own way (TF_VAR_*). */
  readonly variables: Readonly<Record<string, string | number | boolean>>;
  readonly onLine: (stream: StepStream, line: string) => void;
  readonly system: (line: string) => void;
  readonly signal: AbortSignal;
  /** Resolves once the step's process id is recorded; the program runs only then. */
  readonly onStart: (pid: number) => Promise<void> | void;
  readonly backpressure: () => Promise<void> | null;
  readonly setPhase: (phase: Phase) => void;
  /** The sandbox the step runs in (its workspace, its state directory, declared paths). */
  readonly sandbox?: SandboxedStep | undefined;
  /** Masks the run's sensitive values (in what a failed step said, for its error). */
  readonly redact: (text: string) => string;
};

export type PlanResult = {
  readonly summary: PlanSummary;
  /** The plan as a person reads it. */
  readonly text: string;
};

export type Executor = {
  plan(ctx: ExecutorContext): Promise<PlanResult>;
  /** Apply (execute runs) or destroy (destroy runs) exactly the stored plan. */
  change(ctx: ExecutorContext): Promise<Record<string, unknown> | null>;
  /** Undo a verified-bad apply; null when the deployment has no rollback. */
  readonly rollback: ((ctx: ExecutorContext) => Promise<void>) | null;
  /**
   * The executor binary's identity on this worker (sha256 and version), recorded
   * with the plan: apply refuses another one. Absent for executors whose steps
   * are all in the source (script).
   */
  readonly identity?: (ctx: ExecutorContext) => Promise<string>;
};

const PLAN_TEXT_LIMIT = 4 * 1024 * 1024;

/** Collects a step's output as the plan text while it also goes to the log. */
export function planTextCollector(ctx: ExecutorContext) {
  const lines: string[] = [];
  let size = 0;
  let cut = false;
  return {
    onLine(stream: StepStream, line: string) {
      ctx.onLine(stream, line);
      if (size + line.length > PLAN_TEXT_LIMIT) {
        cut = true;
        return;
      }
      size += line.length + 1;
      lines.push(line);
    },
    text() {
      return cut
        ? `${lines.join('\n')}\n… (plan output cut at 4 MB; the full output is in the run log)`
        : lines.join('\n');
    },
  };
}

export type ExecutorStep = {
  readonly label: string;
  readonly command: string | readonly string[];
  readonly phase: 'plan' | 'execute' | 'rollback';
  /** What DEPLOY_PHASE says to the step. */
  readonly stepPhase: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly onLine?: (stream: StepStream, line: string) => void;
  /** Says what to fix when the step cannot start at all. */
  readonly launchFailure: (error: StepLaunchError) => StepFailure;
};

/**
 * Runs one step of an executor in the workspace; an unsuccessful step becomes
 * a StepFailure of its phase (a step that cannot start fails detect for plans).
 */
export async function runExecutorStep(ctx: ExecutorContext, step: ExecutorStep): Promise<void> {
  ctx.system(`running ${step.label}`);
  let result: StepResult;
  try {
    result = await runStep({
      label: step.label,
      command: step.command,
      cwd: ctx.workspace.srcDir,
      env: { ...step.env, DEPLOY_PHASE: step.stepPhase },
      timeoutMs: step.timeoutMs,
      onLine: step.onLine ?? ctx.onLine,
      signal: ctx.signal,
      onStart: ctx.onStart,
      backpressure: ctx.backpressure,
      sandbox: ctx.sandbox,
      redact: ctx.redact,
    });
  } catch (error) {
    if (error instanceof StepLaunchError) throw step.launchFailure(error);
    throw error;
  }
  if (result.outcome !== 'succeeded') {
    throw failureOf(step.phase, step.label, result, step.timeoutMs, 'executor.timeout');
  }
  ctx.system(`${step.label} finished in ${(result.durationMs / 1000).toFixed(1)}s`);
}
