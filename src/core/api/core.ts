// The one core API the CLI, the Slack bot and deploy-tui use. Every method
// either returns the run as it now is, or throws a Refusal whose message is the
// sentence the person sees. All state lives in Postgres, so any number of
// processes can serve the same deployments.

import { type Deployment, type LoadedConfig, loadConfig } from '../config/load.ts';
import {
  type ConfigVersion,
  currentConfigVersion,
  type Publication,
  publishConfig,
} from '../config/versions.ts';
import { newInstanceId, startWorker, type Worker, type WorkerOptions } from '../engine/worker.ts';
import { Refusal } from '../errors.ts';
import { type Decision, decisionsAt } from '../lifecycle/decisions.ts';
import { allowedDecisions, checkChannel, checkIdentity } from '../lifecycle/policy.ts';
import type { RunKind, RunStatus } from '../lifecycle/statuses.ts';
import {
  type LockContext,
  liftLockOn,
  listLocks,
  mayOverride,
  takeLock,
  withoutHeld,
} from '../policy/holds.ts';
import { NO_RULES } from '../policy/rules.ts';
import { currentRulesOutcome, type PlanFacts } from '../policy/run-policy.ts';
import { type Queue, startQueue } from '../queue/boss.ts';
import { type Connection, connect, migrateDatabase, type Tx } from '../store/database.ts';
import { countLogLines, type LogRange, readLogLines } from '../store/logs.ts';
import { approvalsOfRun, planById, planTextOf } from '../store/plans.ts';
import { type RunRow, requireRunRow, runsChangedSince } from '../store/runs.ts';
import { configureSecrets } from '../store/secrets.ts';
import { insertRun } from '../store/transition.ts';
import { closestName } from '../variables/validate.ts';
import { deploymentViews } from '../views/deployments.ts';
import { policyEvaluationViews } from '../views/evaluations.ts';
import { listRunViews, listTransitions, loadRunView, toRunView } from '../views/runs.ts';
import {
  type ActOptions,
  type ApprovalFacts,
  approvePlan,
  cancelRun,
  confirmApply,
  type DecisionContext,
  decisionSubject,
} from './decide.ts';
import {
  type FollowLogsOptions,
  followLogs,
  type RunChange,
  subscribeRuns,
  subscribeTokenRevocations,
} from './follow.ts';
import { newRunOf } from './run-request.ts';
import type {
  Actor,
  DeploymentView,
  GroupMembership,
  LockTarget,
  LockView,
  LogLine,
  PolicyEvaluationView,
  RunFilter,
  RunView,
  TransitionView,
  Unsubscribe,
} from './types.ts';

export type CoreOptions = {
  /** DATABASE_URL, or the embedded PostgreSQL's (src/server/embedded-postgres.ts). */
  readonly databaseUrl: string;
  readonly dataDir: string;
  /**
   * A config file to load, or an already loaded config: the process is a
   * server (serve, worker) and publishes it as the current config version.
   * Without one, the core uses the version the server published (CLI, TUI).
   */
  readonly config?: string | LoadedConfig | undefined;
  readonly groups?: GroupMembership | undefined;
  /** Apply migrations at start (default true). */
  readonly migrate?: boolean;
  readonly poolSize?: number;
  readonly applicationName?: string;
  /** Where background trouble (the queue's reconnects) is reported; stderr by default. */
  readonly log?: (line: string) => void;
};

export type { RunChange } from './follow.ts';

export type RequestRunInput = {
  readonly deployment: string;
  readonly kind?: RunKind;
  /** `key=value` inputs as typed; validated against the deployment's variables. */
  readonly variables?: Readonly<Record<string, string>>;
  readonly actor: Actor;
  /**
   * Runs inside the transaction that creates the run, so a front end's own
   * record of it (the Slack outbox row) exists exactly when the run does.
   */
  readonly onCreated?: (tx: Tx, runId: string) => Promise<void>;
};

export type { ActOptions } from './decide.ts';

function noConfigYet(): Refusal {
  return new Refusal(
    'no_config',
    'no server has published its config yet: start the server (or a worker) with the deployments config against this database first',
  );
}

export class DeployCore {
  private groups: GroupMembership | undefined;
  private workers: Worker[] = [];

  readonly connection: Connection;
  readonly queue: Queue;
  readonly dataDir: string;
  /** host/pid/random: names this process's sessions and its workers. */
  readonly instanceId: string;
  /** The config version this core last saw as current (refreshed on each request). */
  private version: ConfigVersion | null;
  /** What this process published at open (a server), or null (a client). */
  readonly publication: Publication | null;
  private readonly loaded: LoadedConfig | null;
  /** Background trouble nobody awaits (a failed log read while following). */
  private readonly log: (line: string) => void;

  private constructor(
    connection: Connection,
    queue: Queue,
    loaded: LoadedConfig | null,
    publication: Publication | null,
    version: ConfigVersion | null,
    dataDir: string,
    groups: GroupMembership | undefined,
    instanceId: string,
    log: (line: string) => void,
  ) {
    this.log = log;
    this.instanceId = instanceId;
    this.connection = connection;
    this.queue = queue;
    this.loaded = loaded;
    this.publication = publication;
    this.version = version;
    this.dataDir = dataDir;
    this.groups = groups;
  }

  static async open(options: CoreOptions): Promise<DeployCore> {
    const config =
      typeof options.config === 'string' ? loadConfig(options.config) : (options.config ?? null);
    // The key of secrets at rest: DEPLOY_SECRET_KEY, else the data directory's key file.
    configureSecrets({ dataDir: options.dataDir });
    const url = options.databaseUrl;
    if (options.migrate !== false) await migrateDatabase(url);
    const instanceId = newInstanceId();
    // The instance id in every session's application_name tells other
    // processes whether this one is still connected (see the reaper).
    const connection = connect(url, {
      max: options.poolSize ?? 8,
      applicationName: `${options.applicationName ?? 'deploy-bot'} ${instanceId}`,
    });
    let queue: Queue;
    try {
      queue = await startQueue(url, { log: options.log });
    } catch (error) {
      await connection.close();
      throw error;
    }
    const log = options.log ?? ((line: string) => process.stderr.write(`deploy-bot: ${line}\n`));
    let publication: Publication | null = null;
    let version: ConfigVersion | null;
    try {
      if (config) {
        publication = await publishConfig(
          connection.db,
          config,
          `${options.applicationName ?? 'deploy-bot'} ${instanceId}`,
        );
        version = publication.version;
      } else {
        version = await currentConfigVersion(connection.db);
      }
    } catch (error) {
      await queue.stop().catch(() => {});
      await connection.close();
      throw error;
    }
    return new DeployCore(
      connection,
      queue,
      config,
      publication,
      version,
      options.dataDir,
      options.groups,
      instanceId,
      log,
    );
  }

  get db() {
    return this.connection.db;
  }

  /** The file of the config version in use (the server's file, for a client). */
  get configFile(): string | null {
    return this.version?.file ?? null;
  }

  /** The current config version as last seen (null before any server published one). */
  get configVersion(): ConfigVersion | null {
    return this.version;
  }

  /** Reads which config version is current now: a server may have published another. */
  async refreshConfig(): Promise<ConfigVersion> {
    const current = await currentConfigVersion(this.db);
    if (current) this.version = current;
    if (!this.version) {
      throw noConfigYet();
    }
    return this.version;
  }

  private get deployments(): ReadonlyMap<string, Deployment> {
    if (!this.version) {
      throw noConfigYet();
    }
    return this.version.deployments;
  }

  /** The bot sets its Slack user-group resolver here. */
  setGroupMembership(groups: GroupMembership | undefined) {
    this.groups = groups;
  }

  /**
   * A server re-reads its config file and publishes it; on error the published
   * version stays and the error is thrown.
   */
  async reloadConfig(): Promise<Publication> {
    if (!this.loaded) throw new Error('only a server (serve, worker) publishes a config');
    const publication = await publishConfig(
      this.db,
      loadConfig(this.loaded.file),
      this.publication?.version.publishedBy ?? this.instanceId,
    );
    this.version = publication.version;
    return publication;
  }

  /** A deployment of the current config version (as last refreshed). */
  deployment(name: string, deployments = this.deployments): Deployment {
    const found = deployments.get(name);
    if (found) return found;
    const near = closestName(name, [...deployments.keys()]);
    throw new Refusal(
      'unknown_deployment',
      `there is no deployment "${name}"${near ? `: did you mean ${near}?` : ''} (deployments: ${[...deployments.keys()].join(', ')})`,
      { closest: near },
    );
  }

  /** Starts a worker in this process (serve and worker commands). */
  async startWorker(
    options: Omit<WorkerOptions, 'db' | 'sql' | 'queue' | 'dataDir' | 'id'> = {},
  ): Promise<Worker> {
    const worker = await startWorker({
      ...options,
      id: `${this.instanceId}#${this.workers.length + 1}`,
      db: this.db,
      sql: this.connection.sql,
      queue: this.queue,
      dataDir: this.dataDir,
    });
    this.workers.push(worker);
    return worker;
  }

  async close(): Promise<void> {
    for (const w of this.workers) await w.stop();
    this.workers = [];
    await this.queue.stop().catch(() => {});
    await this.connection.close();
  }

  // ---- requests and decisions ------------------------------------------------

  async requestRun(input: RequestRunInput): Promise<RunView> {
    const kind = input.kind ?? 'execute';
    checkIdentity(input.actor);
    const version = await this.refreshConfig();
    const deployment = this.deployment(input.deployment, version.deployments);
    checkChannel(deployment, input.actor);
    const run = await newRunOf(
      this.db,
      deployment,
      kind,
      input.actor,
      input.variables ?? {},
      version.hash,
    );
    const row = await this.db.transaction(async (tx) => {
      const created = await insertRun(tx, this.queue, run);
      await input.onCreated?.(tx, created.id);
      return created;
    });
    // A new run has no plan and no approvals yet; only a queued one needs a query.
    if (row.status === 'queued') return loadRunView(this.db, row.id);
    return toRunView(row, { plan: null, approvals: [], queue: null });
  }

  private get decisions(): DecisionContext {
    return { db: this.db, queue: this.queue, groups: this.groups, log: this.log };
  }

  approvePlan(runId: string, actor: Actor, options: ActOptions = {}): Promise<RunView> {
    return approvePlan(this.decisions, runId, actor, options);
  }

  confirmApply(runId: string, actor: Actor, options: ActOptions = {}): Promise<RunView> {
    return confirmApply(this.decisions, runId, actor, options);
  }

  cancelRun(runId: string, actor: Actor, options: ActOptions = {}): Promise<RunView> {
    return cancelRun(this.decisions, runId, actor, options);
  }

  // ---- reading -------------------------------------------------------------

  /** Round trip to the database: front ends use it to show a "reconnecting" state. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    try {
      await Promise.race([
        this.connection.sql`select 1`,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('timeout')), timeoutMs).unref(),
        ),
      ]);
      return true;
    } catch {
      return false;
    }
  }

  getRun(runId: string): Promise<RunView> {
    return loadRunView(this.db, runId);
  }

  /** A run as `actor` sees it: with `allowed`, the decisions they may take on it now. */
  async getRunFor(runId: string, actor: Actor): Promise<RunView> {
    return (await this.readRun(runId))(actor);
  }

  /**
   * Reads a run now and says who reads it later: for a read that starts while
   * the reader's token is still being checked (the API overlaps the two).
   */
  async readRun(runId: string): Promise<(actor: Actor) => Promise<RunView>> {
    const [view, row] = await Promise.all([
      loadRunView(this.db, runId),
      requireRunRow(this.db, runId),
    ]);
    const approvals = view.approvals.map((a) => ({
      stage: a.stage,
      actor: a.by,
      entry: a.entry ?? null,
    }));
    return async (actor) => {
      const allowed = await this.allowedFor(view.status, row, approvals, actor, view.plan);
      const freeze = view.policy?.freeze;
      if (!view.policy || !freeze || freeze.overridden) return { ...view, allowed };
      const canOverride = await mayOverride(row, actor, this.groups);
      return { ...view, allowed, policy: { ...view.policy, freeze: { ...freeze, canOverride } } };
    };
  }

  /** The decisions `actor` may take on a run now. */
  async decisionsFor(runId: string, actor: Actor): Promise<Decision[]> {
    const row = await requireRunRow(this.db, runId);
    const [approvals, plan] = await Promise.all([
      approvalsOfRun(this.db, runId).then((all) => all.filter((a) => a.planId === row.planId)),
      row.planId ? planById(this.db, row.planId) : null,
    ]);
    return this.allowedFor(row.status, row, approvals, actor, plan);
  }

  /** The decisions `actor` may take on a run in `status`: the check each decision runs. */
  private async allowedFor(
    status: RunStatus,
    row: RunRow,
    approvals: readonly ApprovalFacts[],
    actor: Actor,
    plan: PlanFacts | null,
  ): Promise<Decision[]> {
    // The rules matter only where the status offers an approval.
    const rules = decisionsAt(status).some((d) => d !== 'cancel')
      ? await currentRulesOutcome(this.db, row, plan, approvals)
      : NO_RULES;
    const subject = decisionSubject(row, approvals, rules);
    const allowed = await allowedDecisions(status, subject, actor, this.groups);
    return withoutHeld(this.db, row, actor, this.groups, allowed);
  }

  // ---- locks -----------------------------------------------------------------

  private async lockContext(): Promise<LockContext> {
    const version = await this.refreshConfig();
    return {
      deployments: version.deployments,
      deployment: (name) => this.deployment(name, version.deployments),
      groups: this.groups,
    };
  }

  /** Locks a deployment, an environment or all: no apply or destroy is confirmed until unlocked. */
  async lock(target: LockTarget, actor: Actor, reason: string | undefined): Promise<LockView> {
    return takeLock(this.db, target, reason, actor, await this.lockContext());
  }

  async unlock(target: LockTarget, actor: Actor): Promise<LockView> {
    return liftLockOn(this.db, target, actor, await this.lockContext());
  }

  /** The locks in force, oldest first. */
  listLocks(): Promise<LockView[]> {
    return listLocks(this.db);
  }

  listRuns(filter: RunFilter = {}): Promise<RunView[]> {
    return listRunViews(this.db, filter);
  }

  transitions(runId: string): Promise<TransitionView[]> {
    return requireRunRow(this.db, runId).then(() => listTransitions(this.db, runId));
  }

  /** Each evaluation of the run's rules (the audit's other half), oldest first. */
  policyEvaluations(runId: string): Promise<PolicyEvaluationView[]> {
    return policyEvaluationViews(this.db, runId);
  }

  async planText(runId: string): Promise<string | null> {
    const row = await requireRunRow(this.db, runId);
    if (!row.planId) return null;
    return planTextOf(this.db, row.planId);
  }

  /** Deployments a person may run here (the channel rule applies for Slack). */
  async listDeployments(actor?: Actor): Promise<DeploymentView[]> {
    await this.refreshConfig();
    return deploymentViews(this.db, [...this.deployments.values()], actor);
  }

  // ---- logs ----------------------------------------------------------------

  /** Log lines of a run: after a line id (following), or the last `tail` lines. */
  readLogs(runId: string, options: LogRange = {}): Promise<LogLine[]> {
    return readLogLines(this.db, runId, options);
  }

  countLogLines(runId: string): Promise<number> {
    return countLogLines(this.db, runId);
  }

  /**
   * Follows a run's log from `afterId` (0: the beginning), across processes:
   * woken by NOTIFY, never by polling. Lines arrive in order, each once.
   */
  followLogs(
    runId: string,
    onLines: (lines: LogLine[], skipped: number) => void,
    options: FollowLogsOptions = {},
  ): Promise<Unsubscribe> {
    return followLogs(this.connection, runId, onLines, options, this.log);
  }

  /** The runs changed since a moment (newest state of each), oldest change first: a follower catching up. */
  runChangesSince(since: Date, limit = 500): Promise<RunChange[]> {
    return runsChangedSince(this.db, since, limit);
  }

  /**
   * Token revocations by any process (the ids); `onResync` fires after a
   * reconnect, when some may have been missed.
   */
  subscribeTokenRevocations(
    onRevoked: (ids: readonly string[]) => void,
    onResync: () => void,
  ): Promise<Unsubscribe> {
    return subscribeTokenRevocations(this.connection, onRevoked, onResync);
  }

  /** Every change of every run, from any process. `onResync` fires after a reconnect. */
  subscribeRuns(
    onChange: (change: RunChange) => void,
    onResync?: () => void,
  ): Promise<Unsubscribe> {
    return subscribeRuns(this.connection, onChange, onResync);
  }
}
