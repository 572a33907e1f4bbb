// The bot's port: everything the Slack bot asks of the core, and nothing more.
// The bot never sees the core's connection, queue or tables. It is DeployPort's
// operations with the actor given per call (the bot acts for whoever's signed
// Slack request arrives, DeployPort for one identity bound when it is made),
// plus what only the bot needs: its own tables (in the same transaction as a
// run's creation, so a run requested from Slack has its message row exactly
// when it exists), jobs of its own queues, the log activity that keeps run
// messages' log tails fresh, sign-in codes bound to a Slack user, and the
// process's health and metrics for its HTTP server.
//
// Implemented in this process over the core by src/bot/local-port.ts.

import type { Accounts, ActOptions, Deployment, LogRange, RunChange } from '../core/api/port.ts';
import type {
  Actor,
  DeploymentView,
  GroupMembership,
  LockTarget,
  LockView,
  LogLine,
  RunFilter,
  RunView,
  Unsubscribe,
} from '../core/api/types.ts';
import type { Decision } from '../core/lifecycle/decisions.ts';
import type { RunKind } from '../core/lifecycle/statuses.ts';
import type { BotDb } from './store/database.ts';

export type BotRunRequest = {
  readonly deployment: string;
  readonly kind?: RunKind;
  /** `key=value` inputs as typed. */
  readonly variables?: Readonly<Record<string, string>>;
  readonly actor: Actor;
  /** Writes the bot's record of the run in the transaction that creates it. */
  readonly onCreated?: (store: BotDb, runId: string) => Promise<void>;
};

export type JobQueueOptions = {
  readonly policy: 'standard' | 'short';
  readonly notify?: boolean;
  readonly retryLimit?: number;
  readonly retryDelay?: number;
  readonly retryBackoff?: boolean;
  readonly retryDelayMax?: number;
  readonly expireInSeconds?: number;
  readonly deleteAfterSeconds?: number;
};

export type JobWorkOptions = {
  readonly localConcurrency?: number;
  readonly batchSize?: number;
  readonly burstWhenBatchFull?: boolean;
  readonly pollingIntervalSeconds?: number;
  readonly notifyPollingIntervalSeconds?: number;
};

/** The bot's own job queues (Slack deliveries, Home publishes), durable in PostgreSQL. */
export interface BotJobs {
  createQueue(name: string, options: JobQueueOptions): Promise<void>;
  send(
    name: string,
    data: object,
    options: { readonly singletonKey?: string; readonly startAfter?: Date },
  ): Promise<unknown>;
  /** Returns the id to stop with. */
  work(
    name: string,
    options: JobWorkOptions,
    handler: (jobs: readonly { readonly data: unknown }[]) => Promise<void>,
  ): Promise<string>;
  offWork(name: string, id: string): Promise<void>;
}

export interface BotPort {
  requestRun(request: BotRunRequest): Promise<RunView>;
  approvePlan(runId: string, actor: Actor, options?: ActOptions): Promise<RunView>;
  confirmApply(runId: string, actor: Actor, options?: ActOptions): Promise<RunView>;
  cancelRun(runId: string, actor: Actor, options?: ActOptions): Promise<RunView>;
  getRun(runId: string): Promise<RunView>;
  /** Newest first. */
  listRuns(filter?: RunFilter): Promise<RunView[]>;
  /** The deployments `actor` may run here (the channel rule for Slack). */
  listDeployments(actor?: Actor): Promise<DeploymentView[]>;
  /** A deployment of the published config (its variables, approvers, notify rules). */
  deployment(name: string): Deployment;
  readLogs(runId: string, range?: LogRange): Promise<LogLine[]>;
  planText(runId: string): Promise<string | null>;
  /** The decisions `actor` may take on a run now. */
  decisionsFor(runId: string, actor: Actor): Promise<Decision[]>;
  /** `/deploy lock`, `/deploy unlock`, `/deploy locks`. */
  lock(target: LockTarget, actor: Actor, reason: string | undefined): Promise<LockView>;
  unlock(target: LockTarget, actor: Actor): Promise<LockView>;
  listLocks(): Promise<LockView[]>;
  /** Every change of every run, from any process; `onResync` after a reconnect. */
  subscribeRuns(onChange: (change: RunChange) => void, onResync?: () => void): Promise<Unsubscribe>;
  /** The id of each run that wrote log lines, from any process. */
  followLogActivity(onRun: (runId: string) => void): Promise<Unsubscribe>;
  /** The core's database answers within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** This process's Prometheus text. */
  metrics(): Promise<{ readonly contentType: string; readonly text: string }>;
  /** Who is in a Slack user group, for the approver policy. */
  setGroupMembership(groups: GroupMembership | undefined): void;
  /** `/deploy login CODE`, `/deploy tokens`, `/deploy logout`. */
  readonly accounts: Pick<Accounts, 'approveLogin' | 'listTokens' | 'revokeTokens'>;
  readonly jobs: BotJobs;
  /** The bot's own tables (src/bot/store/schema.ts, migrations in drizzle/bot/). */
  readonly store: BotDb;
}
