// The lifecycle steps a worker executes for a claimed run. Each function does
// one phase and moves the run on with a compare-and-set transition; a run that
// someone else moved (cancelled, reaped) is left alone.

import type { Actor } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { errorMessage } from '../errors.ts';
import type { Executor, ExecutorContext } from '../executors/executor.ts';
import {
  prestartSandbox,
  type SandboxShape,
  takeWarmSandbox,
  warmSandbox,
} from '../executors/prestart.ts';
import { StepNotStarted } from '../executors/process.ts';
import type { StepSandbox } from '../executors/sandbox.ts';
import { scriptExecutor } from '../executors/script.ts';
import { terraformExecutor } from '../executors/terraform.ts';
import { PARTLY_CHANGED } from '../lifecycle/recovery.ts';
import { assertNever, type Phase, phaseOf, type RunStatus } from '../lifecycle/statuses.ts';
import { rememberSecrets } from '../logs/logger.ts';
import { MASK, makeRedactor, type Redactor } from '../logs/redact.ts';
import { RunLogWriter } from '../logs/writer.ts';
import { planReadyVerdict } from '../policy/run-rules.ts';
import type { Queue } from '../queue/boss.ts';
import { recordStepPid } from '../store/claims.ts';
import type { Db, Sql } from '../store/database.ts';
import { insertPlan, planForApply } from '../store/plans.ts';
import type { RunRow } from '../store/runs.ts';
import {
  openConfig,
  readSecretVariables,
  SecretKeyError,
  type SecretValue,
} from '../store/secrets.ts';
import { moveRun, type TransitionInput, transition } from '../store/transition.ts';
import { COUNTS_UNKNOWN_REASON, planCounts, SYSTEM_ACTOR } from '../text/plan.ts';
import { variablesWithSources } from '../variables/sources.ts';
import {
  artifactsDigest,
  bindingChanges,
  bindingHash,
  configDigest,
  type PlanBinding,
} from './binding.ts';
import { StepFailure } from './failure.ts';
import { newId } from './ids.ts';
import { runVerify } from './verify.ts';
import {
  type Artifact,
  collectArtifacts,
  DetectError,
  prepareWorkspace,
  restoreArtifacts,
  stateDirOf,
  type Workspace,
  type WorkspacePaths,
} from './workspace.ts';

export type EngineContext = {
  readonly db: Db;
  readonly sql: Sql;
  readonly queue: Queue;
  readonly dataDir: string;
  readonly workerId: string;
  /** The environment every step starts from (an allowlist of the worker's own). */
  readonly baseEnv: Readonly<Record<string, string>>;
};

const WORKER: Actor = SYSTEM_ACTOR;

export function executorFor(deployment: Deployment): Executor {
  const config = deployment.executor;
  switch (config.kind) {
    case 'script':
      return scriptExecutor(config);
    case 'terraform':
      return terraformExecutor(config, deployment.baseDir);
    default:
      return assertNever(config);
  }
}

type StepRun = {
  readonly ctx: EngineContext;
  run: RunRow;
  readonly deployment: Deployment;
  readonly log: RunLogWriter;
  readonly redact: Redactor;
  readonly signal: AbortSignal;
  /** The run's sensitive variable values, decrypted once for its steps. */
  readonly secrets: Readonly<Record<string, SecretValue>>;
};

function variablesOf(s: StepRun) {
  return { ...s.run.variables, ...s.secrets };
}

/** The run's values with the sensitive ones masked, for the log. */
function maskedValues(run: RunRow): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = { ...run.variables };
  for (const name of Object.keys(run.secretVariables)) out[name] = MASK;
  return out;
}

function stepEnv(s: StepRun, ws: WorkspacePaths): Record<string, string> {
  const env: Record<string, string> = {
    ...s.ctx.baseEnv,
    DEPLOY_RUN_ID: s.run.id,
    DEPLOY_KIND: s.run.kind,
    DEPLOY_DEPLOYMENT: s.run.deployment,
    DEPLOY_ENVIRONMENT: s.run.environment,
    DEPLOY_PLAN_FILE: ws.planFile,
    DEPLOY_ARTIFACT_DIR: ws.artifactDir,
    DEPLOY_OUTPUTS_FILE: ws.outputsFile,
    DEPLOY_STATE_DIR: ws.stateDir,
  };
  for (const [name, value] of Object.entries(variablesOf(s)))
    env[`DEPLOY_VAR_${name}`] = String(value);
  return env;
}

/**
 * Stores the step's process id before its program may run, so that a worker
 * that dies later leaves a step the reaper can stop. A transient database
 * error is tried again; a run this worker no longer owns is not started.
 */
async function recordStepPidOrRefuse(s: StepRun, pid: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let owned: boolean;
    try {
      owned = await recordStepPid(s.ctx.db, s.run.id, s.ctx.workerId, pid);
    } catch (error) {
      if (attempt >= 3 || s.signal.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
      continue;
    }
    if (!owned) throw new Error('this worker no longer executes the run');
    return;
  }
}

/** What every sandbox of this deployment is made of, but the workspace. */
function sandboxShape(s: StepRun): SandboxShape {
  return {
    stateDir: stateDirOf(s.ctx.dataDir, s.deployment.name),
    dataDir: s.ctx.dataDir,
    // Runs requested before sandbox settings existed have none in their snapshot.
    config: s.deployment.sandbox ?? { network: true, services: false, paths: [] },
  };
}

/** What the step's sandbox is made of: this run's workspace, this deployment's state. */
function sandboxOf(s: StepRun, ws: Pick<Workspace, 'root'>): StepSandbox {
  return { ...sandboxShape(s), workspaceRoot: ws.root };
}

function executorContext(s: StepRun, ws: Workspace): ExecutorContext {
  return {
    sandbox: { ...sandboxOf(s, ws), prestarted: ws.prestarted },
    runId: s.run.id,
    kind: s.run.kind as 'execute' | 'destroy',
    workspace: ws,
    env: stepEnv(s, ws),
    variables: variablesOf(s),
    onLine: (stream, line) => s.log.write(stream, line),
    system: (line) => s.log.system(line),
    signal: s.signal,
    onStart: (pid) => recordStepPidOrRefuse(s, pid),
    setPhase: (phase) => s.log.setPhase(phase),
    backpressure: () => s.log.backpressure(),
    redact: s.redact,
  };
}

/** Moves the run on; returns false when it had moved elsewhere meanwhile. */
async function advance(
  s: StepRun,
  input: Omit<TransitionInput, 'runId' | 'kind' | 'actor'>,
): Promise<boolean> {
  // Followers see every line of a phase before they see the run move on.
  await s.log.flush();
  const outcome = await moveRun(s.ctx.db, s.ctx.queue, {
    ...input,
    runId: s.run.id,
    kind: s.run.kind,
    actor: WORKER,
  });
  if (!outcome.ok) {
    s.log.system(`stopping: ${outcome.reason}`);
    return false;
  }
  s.run = outcome.run;
  return true;
}

async function fail(
  s: StepRun,
  from: RunStatus,
  failure: StepFailure,
  to: 'failed' | 'rollback_failed' = 'failed',
) {
  s.log.setPhase(failure.phase);
  s.log.system(`failed in ${failure.phase}: ${s.redact(failure.message)}`);
  s.log.system(`hint: ${s.redact(failure.hint)}`);
  await advance(s, {
    from,
    to,
    reason: s.redact(failure.message),
    patch: {
      failedPhase: failure.phase,
      error: s.redact(failure.message),
      recoveryHint: s.redact(failure.hint),
    },
  });
}

/** Turns any error of a step into a StepFailure for the phase. */
function asFailure(phase: Phase, error: unknown): StepFailure {
  if (error instanceof StepFailure) return error;
  if (error instanceof DetectError) return new StepFailure('detect', error.message, error.hint);
  if (error instanceof StepNotStarted) {
    return new StepFailure(
      phase,
      error.message,
      "the step never ran, so it changed nothing: check the worker's database connection, then run the deployment again",
    );
  }
  const message = errorMessage(error);
  return new StepFailure(
    phase,
    `deploy-bot could not ${phase === 'detect' ? 'prepare the workspace' : `run the ${phase} phase`}: ${message}`,
    phase === 'execute'
      ? `${PARTLY_CHANGED}; the worker's log has the details`
      : 'this looks like a problem of deploy-bot or its worker; the worker log has the details',
  );
}

async function workspaceFor(s: StepRun, step: string, pinned: boolean): Promise<Workspace> {
  const shape = sandboxShape(s);
  const ws = await prepareWorkspace({
    dataDir: s.ctx.dataDir,
    runId: s.run.id,
    step,
    deployment: s.deployment,
    pinnedCommit: pinned ? (s.run.source.commit ?? null) : null,
    // The sandbox started after this deployment's previous step, waiting.
    ahead: () => takeWarmSandbox(shape, s.ctx.baseEnv),
    // Otherwise one started now: its set-up (bwrap, namespaces, mounts,
    // setpriv) overlaps the copy. It starts with the environment the step
    // will have (its gate is then sent only what an executor adds).
    prestart: (paths) => prestartSandbox(sandboxOf(s, paths), stepEnv(s, paths)),
  });
  // The next step of this deployment finds its sandbox set up: started as
  // soon as this step's process ends (while the run moves on), else when its
  // workspace goes. Not awaited: a failure here is the next step's own.
  const ahead = () =>
    void warmSandbox(shape, s.ctx.baseEnv).catch((error: unknown) =>
      process.stderr.write(
        `deploy-bot: could not start a sandbox ahead for ${s.deployment.name}: ${errorMessage(error)}\n`,
      ),
    );
  ws.prestarted?.whenStepEnds(ahead);
  return {
    ...ws,
    dispose: async () => {
      await ws.dispose();
      ahead();
    },
  };
}

/** pending → initializing → planning → awaiting_plan_approval | no_changes. */
async function detectAndPlan(s: StepRun): Promise<void> {
  if (s.run.status === 'pending') {
    if (
      !(await advance(s, {
        from: 'pending',
        to: 'initializing',
        keepWorker: true,
        reason: 'preparing the workspace',
      }))
    )
      return;
  }
  s.log.setPhase('detect');
  let ws: Workspace;
  try {
    ws = await workspaceFor(s, 'plan', false);
  } catch (error) {
    await fail(s, s.run.status, asFailure('detect', error));
    return;
  }
  try {
    const src = ws.source;
    s.log.system(
      src.kind === 'git-repository'
        ? `source: ${src.location} ${src.gitRef} → ${src.commit} (${src.baseDirectory})`
        : `source: directory ${src.location} (${ws.sourceDigest.slice(0, 19)})`,
    );
    if (s.run.status === 'initializing') {
      const moved = await advance(s, {
        from: 'initializing',
        to: 'planning',
        keepWorker: true,
        reason: 'source ready: planning',
        patch: { source: src, sourceDigest: ws.sourceDigest },
      });
      if (!moved) return;
    }
    s.log.setPhase('plan');
    const used = variablesWithSources(maskedValues(s.run), s.run.variableSources ?? {});
    if (used.length > 0) {
      s.log.system(`variables: ${used.map(([name, value]) => `${name}=${value}`).join(' ')}`);
    }
    const executor = executorFor(s.deployment);
    let result: Awaited<ReturnType<Executor['plan']>>;
    let artifacts: Artifact[];
    try {
      result = await executor.plan(executorContext(s, ws));
      artifacts = await collectArtifacts(ws.artifactDir);
    } catch (error) {
      await fail(s, 'planning', asFailure('plan', error));
      return;
    }
    const { summary } = result;
    let binding: PlanBinding;
    try {
      binding = await bindingOf(s, ws, artifacts, executor);
    } catch (error) {
      await fail(s, 'planning', asFailure('plan', error));
      return;
    }
    const hash = bindingHash(binding);
    const planId = newId('plan');
    s.log.system(
      summary.known
        ? `plan: ${planCounts(summary)}`
        : `plan: counts unknown (${COUNTS_UNKNOWN_REASON})`,
    );
    await s.log.flush();
    const outcome = await s.ctx.db.transaction(async (tx) => {
      const facts = {
        known: summary.known,
        add: summary.add,
        change: summary.change,
        destroy: summary.destroy,
        changes: summary.changes.map((c) => ({ address: s.redact(c.address), action: c.action })),
      };
      // The rules' verdict on the plan (none when there is nothing to decide).
      const verdict = summary.noChanges ? null : await planReadyVerdict(tx, s.run, facts);
      await insertPlan(
        tx,
        {
          id: planId,
          runId: s.run.id,
          ...facts,
          text: s.redact(result.text),
          artifactHash: hash,
          binding,
          rulesEvaluated: verdict?.evaluated ?? null,
          rulesMatched: verdict ? [...verdict.rules] : null,
        },
        artifacts,
      );
      const moved = await transition(tx, s.ctx.queue, {
        runId: s.run.id,
        kind: s.run.kind,
        from: 'planning',
        to: summary.noChanges ? 'no_changes' : 'awaiting_plan_approval',
        actor: WORKER,
        reason: summary.noChanges ? 'the plan has nothing to do' : 'plan ready for review',
        patch: { planId, source: ws.source, sourceDigest: ws.sourceDigest },
      });
      return moved;
    });
    if (!outcome.ok) s.log.system(`plan not used: ${outcome.reason}`);
    else s.run = outcome.run;
  } finally {
    await ws.dispose();
  }
}

/** Everything apply will run, part by part: what the approval is bound to. */
async function bindingOf(
  s: StepRun,
  ws: Workspace,
  artifacts: readonly Artifact[],
  executor: Executor,
): Promise<PlanBinding> {
  return {
    source: ws.sourceDigest,
    artifacts: artifactsDigest(artifacts),
    // Of the config in the clear: re-encrypting it (secrets rotate) changes nothing approved.
    config: configDigest(openConfig(s.run.config, s.run.id)),
    executor: executor.identity ? await executor.identity(executorContext(s, ws)) : null,
  };
}

/** Outputs are stored and shown: a sensitive value a step wrote there is masked too. */
function redactOutputs(
  redact: Redactor,
  outputs: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (!outputs) return null;
  const text = JSON.stringify(outputs);
  const masked = redact(text);
  if (masked === text) return outputs;
  try {
    return JSON.parse(masked) as Record<string, unknown>;
  } catch {
    // The secret spanned JSON syntax: keep nothing rather than something broken.
    return { outputs: 'withheld: they contained a sensitive value' };
  }
}

async function loadPlan(s: StepRun) {
  const planId = s.run.planId;
  if (!planId) throw new StepFailure('execute', 'the run has no plan', 'run the deployment again');
  const { plan, artifacts, approvals } = await planForApply(s.ctx.db, s.run.id, planId);
  if (!plan)
    throw new StepFailure('execute', `plan ${planId} is missing`, 'run the deployment again');
  return { plan, artifacts, approved: approvals };
}

/** applying | destroying → verifying | completed | destroyed, or failed. */
async function change(s: StepRun): Promise<void> {
  const from = s.run.status as 'applying' | 'destroying';
  s.log.setPhase('execute');
  let ws: Workspace | null = null;
  try {
    const { plan, artifacts, approved } = await loadPlan(s);
    // Every approval of the apply (a policy may need several) is of this plan's binding.
    const applies = approved.filter((a) => a.stage === 'apply' && a.planId === plan.id);
    const apply = applies.find((a) => a.artifactHash !== plan.artifactHash) ?? applies[0];
    ws = await workspaceFor(s, 'apply', true);
    const executor = executorFor(s.deployment);
    const now = await bindingOf(s, ws, artifacts, executor);
    const hash = bindingHash(now);
    if (!apply || apply.artifactHash !== hash || plan.artifactHash !== hash) {
      const changed = plan.binding ? bindingChanges(plan.binding, now) : [];
      const what = changed.length > 0 ? changed.join(', ') : 'what the plan covers';
      throw new StepFailure(
        'execute',
        `${what} changed after the plan was approved (approved ${apply?.artifactHash.slice(0, 19) ?? 'nothing'}, now ${hash.slice(0, 19)}); nothing was applied`,
        `${what} changed since the approval; nothing was changed: run the deployment again to plan what exists now`,
      );
    }
    await restoreArtifacts(ws.artifactDir, artifacts);
    const outputs = redactOutputs(s.redact, await executor.change(executorContext(s, ws)));
    if (outputs) s.log.system(`outputs: ${JSON.stringify(outputs).slice(0, 2000)}`);
    const patch = { outputs };
    if (from === 'destroying') {
      await advance(s, {
        from,
        to: 'destroyed',
        reason: 'everything the deployment manages was removed',
        patch,
      });
    } else if (s.deployment.verify) {
      await advance(s, {
        from,
        to: 'verifying',
        keepWorker: true,
        reason: 'applied: verifying',
        patch,
      });
    } else {
      await advance(s, { from, to: 'completed', reason: 'applied (no verify configured)', patch });
    }
  } catch (error) {
    await fail(s, from, asFailure('execute', error));
  } finally {
    await ws?.dispose();
  }
}

/** verifying → completed | rolling_back | failed. */
async function verify(s: StepRun): Promise<void> {
  s.log.setPhase('verify');
  const config = s.deployment.verify;
  if (!config) {
    await advance(s, { from: 'verifying', to: 'completed', reason: 'nothing to verify' });
    return;
  }
  let ws: Workspace | null = null;
  try {
    ws = config.command ? await workspaceFor(s, 'verify', true) : null;
    const envCtx = ws ? executorContext(s, ws) : null;
    await runVerify({
      verify: config,
      log: (line) => s.log.system(line),
      signal: s.signal,
      step: {
        cwd: ws?.srcDir ?? s.ctx.dataDir,
        env: { ...(envCtx?.env ?? s.ctx.baseEnv), DEPLOY_PHASE: 'verify' },
        onLine: (stream, line) => s.log.write(stream, line),
        signal: s.signal,
        onStart: envCtx?.onStart,
        sandbox: envCtx?.sandbox,
        redact: s.redact,
      },
    });
    await advance(s, { from: 'verifying', to: 'completed', reason: 'verified' });
  } catch (error) {
    const failure = asFailure('verify', error);
    if (executorFor(s.deployment).rollback) {
      s.log.system(`verify failed: ${s.redact(failure.message)}; rolling back`);
      await advance(s, {
        from: 'verifying',
        to: 'rolling_back',
        keepWorker: true,
        reason: `verify failed: ${s.redact(failure.message)}`,
        patch: {
          failedPhase: 'verify',
          error: s.redact(failure.message),
          recoveryHint: s.redact(failure.hint),
        },
      });
    } else {
      await fail(s, 'verifying', failure);
    }
  } finally {
    await ws?.dispose();
  }
}

/** rolling_back → rolled_back | rollback_failed. */
async function rollback(s: StepRun): Promise<void> {
  s.log.setPhase('rollback');
  const executor = executorFor(s.deployment);
  let ws: Workspace | null = null;
  try {
    if (!executor.rollback)
      throw new StepFailure(
        'rollback',
        'the deployment has no rollback step',
        'add executor.rollback',
      );
    const { artifacts } = await loadPlan(s);
    ws = await workspaceFor(s, 'rollback', true);
    await restoreArtifacts(ws.artifactDir, artifacts);
    await executor.rollback(executorContext(s, ws));
    const verifyError = s.run.error ?? 'verify failed';
    await advance(s, {
      from: 'rolling_back',
      to: 'rolled_back',
      reason: 'rolled back after a failed verify',
      patch: {
        failedPhase: 'verify',
        recoveryHint: `the rollback restored the previous version, but this change failed: ${verifyError}. Inspect health, network, proxy and access route, fix, then run again`,
      },
    });
  } catch (error) {
    const failure = asFailure('rollback', error);
    await fail(
      s,
      'rolling_back',
      new StepFailure(
        'rollback',
        `${failure.message} (after verify failed: ${s.run.error ?? 'unknown'})`,
        `manual intervention is required: the service may be half rolled back. Save the diagnostics first (the run's whole log), then restore the previous version by hand. ${failure.hint}`,
      ),
      'rollback_failed',
    );
  } finally {
    await ws?.dispose();
  }
}

/**
 * Executes a claimed run from its current working status until it waits for a
 * person, finishes, or is moved by someone else.
 */
export async function executeClaimedRun(
  ctx: EngineContext,
  run: RunRow,
  signal: AbortSignal,
): Promise<void> {
  const deployment = run.config as Deployment;
  let secrets: Record<string, SecretValue> = {};
  let unreadable: SecretKeyError | null = null;
  try {
    secrets = readSecretVariables(run);
  } catch (error) {
    if (!(error instanceof SecretKeyError)) throw error;
    unreadable = error;
  }
  const redact = makeRedactor(Object.values(secrets));
  const log = new RunLogWriter(ctx.sql, run.id, 'detect', redact);
  const s: StepRun = { ctx, run, deployment, log, redact, signal, secrets };
  // The process's own log masks this run's sensitive values while it works here.
  const forgetSecrets = rememberSecrets(Object.values(secrets));
  try {
    if (unreadable) {
      const status = run.status;
      const phase = phaseOf(status) ?? 'detect';
      await fail(
        s,
        status,
        new StepFailure(
          phase,
          `${unreadable.message}; nothing was run`,
          'give this server the secret key the run was requested under (see "Secrets at rest" in the README), then run the deployment again',
        ),
      );
      return;
    }
    for (let guard = 0; guard < 10; guard++) {
      if (s.run.workerId !== ctx.workerId || signal.aborted) return;
      const status = s.run.status;
      switch (status) {
        case 'pending':
        case 'initializing':
        case 'planning':
          await detectAndPlan(s);
          break;
        case 'applying':
        case 'destroying':
          await change(s);
          break;
        case 'verifying':
          await verify(s);
          break;
        case 'rolling_back':
          await rollback(s);
          break;
        default:
          return;
      }
      if (s.run.status === status) return;
    }
  } finally {
    forgetSecrets();
    await log.close();
  }
}
