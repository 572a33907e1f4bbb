// The one port a front end (the CLI, deploy-tui, the HTTP API) uses: what a
// person may do and see. The acting identity is bound when the port is made
// (a token's user over HTTP; an administrator's --as in local mode), so no
// call can claim to be someone else. Two implementations: `localPort` over a
// DeployCore in this process, and `httpPort` (http-client.ts) over the API.

import type { RunKind } from '../lifecycle/statuses.ts';
import type { LogRange } from '../store/logs.ts';
import type { ActOptions, DeployCore, RunChange } from './core.ts';
import type {
  Actor,
  DeploymentView,
  LockTarget,
  LockView,
  LogLine,
  PolicyEvaluationView,
  RunFilter,
  RunView,
  TransitionView,
  Unsubscribe,
} from './types.ts';

export type { LoginApproval } from '../auth/login.ts';
export type { TokenInfo } from '../auth/tokens.ts';
// What front ends see of these, without importing the modules that make them.
export type { Deployment } from '../config/load.ts';
export type { LogRange } from '../store/logs.ts';
export type { Accounts } from './accounts.ts';
export type { ActOptions, RunChange } from './core.ts';

/**
 * The core in this process with the actor given per call, for a front end that
 * acts for whoever is at the keyboard (deploy-tui in local mode). DeployCore is one.
 */
export type LocalCore = Pick<
  DeployCore,
  | 'listRuns'
  | 'getRun'
  | 'getRunFor'
  | 'transitions'
  | 'policyEvaluations'
  | 'readLogs'
  | 'countLogLines'
  | 'followLogs'
  | 'subscribeRuns'
  | 'approvePlan'
  | 'confirmApply'
  | 'cancelRun'
  | 'ping'
  | 'listDeployments'
  | 'lock'
  | 'unlock'
  | 'listLocks'
  | 'close'
>;

export type Page<T> = {
  readonly items: readonly T[];
  /** Pass as `before` (runs) or `afterId` (logs) for the next page; null: no more. */
  readonly next: string | null;
};

export type RunRequest = {
  readonly deployment: string;
  readonly kind?: RunKind | undefined;
  /** `key=value` inputs as typed. */
  readonly variables?: Readonly<Record<string, string>> | undefined;
};

export interface DeployPort {
  requestRun(request: RunRequest): Promise<RunView>;
  approvePlan(runId: string, options?: ActOptions): Promise<RunView>;
  confirmApply(runId: string, options?: ActOptions): Promise<RunView>;
  cancelRun(runId: string, options?: ActOptions): Promise<RunView>;
  getRun(runId: string): Promise<RunView>;
  /** Newest first; `next` continues with older runs. */
  listRuns(filter?: RunFilter): Promise<Page<RunView>>;
  listDeployments(): Promise<readonly DeploymentView[]>;
  audit(runId: string): Promise<readonly TransitionView[]>;
  /** Each evaluation of the run's rules: config version, rules matched, result. */
  policyAudit(runId: string): Promise<readonly PolicyEvaluationView[]>;
  readLogs(runId: string, range?: LogRange): Promise<readonly LogLine[]>;
  countLogLines(runId: string): Promise<number>;
  /** Lines after `afterId` (0: all), in order, each once, until unsubscribed. */
  followLogs(
    runId: string,
    onLines: (lines: readonly LogLine[]) => void,
    options?: { readonly afterId?: number | undefined },
  ): Promise<Unsubscribe>;
  /** Every change of every run; `onResync` after a reconnect (changes may have been missed). */
  followRuns(onChange: (change: RunChange) => void, onResync?: () => void): Promise<Unsubscribe>;
  /** Locks a deployment, an environment or all (a reason is required): no apply is confirmed until unlocked. */
  lock(target: LockTarget, reason: string): Promise<LockView>;
  /** Lifts the lock on a target; returns the lock as it was. */
  unlock(target: LockTarget): Promise<LockView>;
  /** The locks in force, oldest first. */
  listLocks(): Promise<readonly LockView[]>;
  close(): Promise<void>;
}

/** The run list's page: `limit` items and the cursor of the next. */
export async function pageOfRuns(
  list: (filter: RunFilter) => Promise<RunView[]>,
  filter: RunFilter,
): Promise<Page<RunView>> {
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
  const rows = await list({ ...filter, limit: limit + 1 });
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
}

/**
 * Who reads, when someone is known: a run read for them carries `allowed`.
 * Reading needs no identity, so "nobody given" (the usage error acting would
 * raise) means an anonymous read.
 */
function readerOf(actor: () => Actor): Actor | null {
  try {
    return actor();
  } catch {
    return null;
  }
}

/**
 * The in-process port over a core. `actor` is who acts (a function: read-only
 * commands need no identity, so it is asked for only when one acts).
 */
export function localPort(
  core: DeployCore,
  actor: () => Actor,
  options: { readonly closeCore?: boolean } = {},
): DeployPort {
  return {
    requestRun: (request) =>
      core.requestRun({
        deployment: request.deployment,
        kind: request.kind,
        variables: request.variables,
        actor: actor(),
      }),
    approvePlan: (runId, o) => core.approvePlan(runId, actor(), o),
    confirmApply: (runId, o) => core.confirmApply(runId, actor(), o),
    cancelRun: (runId, o) => core.cancelRun(runId, actor(), o),
    getRun: (runId) => {
      const reader = readerOf(actor);
      return reader ? core.getRunFor(runId, reader) : core.getRun(runId);
    },
    listRuns: (filter = {}) => pageOfRuns((f) => core.listRuns(f), filter),
    listDeployments: () => core.listDeployments(),
    audit: (runId) => core.transitions(runId),
    policyAudit: (runId) => core.policyEvaluations(runId),
    readLogs: (runId, range = {}) => core.readLogs(runId, range),
    countLogLines: (runId) => core.countLogLines(runId),
    followLogs: (runId, onLines, o = {}) =>
      core.followLogs(runId, (lines) => onLines(lines), { afterId: o.afterId }),
    followRuns: (onChange, onResync) => core.subscribeRuns(onChange, onResync),
    lock: (target, reason) => core.lock(target, actor(), reason),
    unlock: (target) => core.unlock(target, actor()),
    listLocks: () => core.listLocks(),
    close: async () => {
      if (options.closeCore) await core.close();
    },
  };
}
