// The one core API the CLI, the Slack bot and deploy-tui use. Every method
// either returns the run as it now is, or throws a Refusal whose message is the
// sentence the person sees. All state lives in Postgres, so any number of
// processes can serve the same deployments.

import { TOKEN_REVOKED_CHANNEL } from '../auth/tokens.ts';
import { type Deployment, type LoadedConfig, loadConfig } from '../config/load.ts';
import {
  type ConfigVersion,
  currentConfigVersion,
  type Publication,
  publishConfig,
} from '../config/versions.ts';
import { approvalTimeoutText, expireApproval } from '../engine/approval-expiry.ts';
import { newId } from '../engine/ids.ts';
import { newInstanceId, startWorker, type Worker, type WorkerOptions } from '../engine/worker.ts';
import { errorMessage, isRefusal, Refusal } from '../errors.ts';
import { DECISION_STATUS, type Decision, decisionsAt } from '../lifecycle/decisions.ts';
import {
  type ApprovalDecision,
  allowedDecisions,
  checkApprovalDecision,
  checkChannel,
  checkDecision,
  checkIdentity,
  type DecisionSubject,
} from '../lifecycle/policy.ts';
import {
  changeStatusFor,
  type RunKind,
  type RunStatus,
  STATUS_TABLE,
} from '../lifecycle/statuses.ts';
import { processLog } from '../logs/logger.ts';
import { LOG_CHANNEL } from '../logs/writer.ts';
import { countDecision, type DecisionName } from '../metrics/totals.ts';
import { NO_RULES, type RulesOutcome } from '../policy/rules.ts';
import { currentRulesOutcome, type PlanFacts } from '../policy/run-policy.ts';
import { enforceRules, recordRefusedEvaluation } from '../policy/run-rules.ts';
import { type Queue, startQueue } from '../queue/boss.ts';
import { approvalDeadlineIsPast } from '../store/claims.ts';
import {
  type Connection,
  connect,
  migrateDatabase,
  resolveDatabaseUrl,
  type Tx,
} from '../store/database.ts';
import { countLogLines, type LogRange, readLogLines } from '../store/logs.ts';
import {
  approvalsOfRun,
  insertApproval,
  planById,
  planTextOf,
  reassignApprovals,
} from '../store/plans.ts';
import { listEvaluations } from '../store/policy-evaluations.ts';
import { lastCompletedExecute, readStoredSecretVariables } from '../store/run-variables.ts';
import {
  deploymentActivity,
  insertRun,
  listRunRows,
  listTransitions,
  loadRunView,
  loadRunViews,
  lockDeployment,
  lockRunRow,
  RUN_CHANNEL,
  type RunRow,
  requireRunRow,
  runsChangedSince,
  slotHolder,
  toRunView,
  touchRun,
  transition,
} from '../store/runs.ts';
import type { runs as runsTable } from '../store/schema.ts';
import { configureSecrets } from '../store/secrets.ts';
import { type PreviousRun, resolveVariables } from '../variables/sources.ts';
import { closestName, usageOf } from '../variables/validate.ts';
import type {
  Actor,
  DeploymentView,
  GroupMembership,
  LogLine,
  PolicyEvaluationView,
  RunFilter,
  RunView,
  SourceSummary,
  TransitionView,
  Unsubscribe,
} from './types.ts';

export type CoreOptions = {
  readonly databaseUrl?: string | undefined;
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

export type RunChange = {
  readonly runId: string;
  readonly version: number;
  readonly status: RunStatus;
  readonly deployment: string;
  /**
   * Over the API with `GET /api/v1/events/runs?with=run`: the run as the server
   * read it just after this change, so that a follower needs no request of its own.
   */
  readonly run?: RunView;
};

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

export type ActOptions = {
  /** The plan the person saw: refused when the run has another plan now. */
  readonly planId?: string | undefined;
  readonly reason?: string | undefined;
  /** A note stored with an approval ("Approve with a note"): shown with it everywhere. */
  readonly note?: string | undefined;
};

/** A person's note or reason as stored: no NUL, well-formed, trimmed, at most 500 characters; null when empty. */
function cleanNote(text: string | undefined): string | null {
  const clean = text?.replaceAll('\0', '').toWellFormed().trim().slice(0, 500) ?? '';
  return clean === '' ? null : clean;
}

/**
 * What the policy checks a decision against: the run's own config snapshot,
 * requester and approvals of its current plan (in approval order).
 */
function decisionSubject(
  row: RunRow,
  approvals: readonly { stage: string; actor: string; entry: number | null }[],
  rules: RulesOutcome = NO_RULES,
): DecisionSubject {
  const of = (stage: string) =>
    approvals.filter((a) => a.stage === stage).map((a) => ({ actor: a.actor, entry: a.entry }));
  return {
    deployment: row.config as Deployment,
    requestedBy: row.requestedBy,
    kind: row.kind as RunKind,
    approvals: { plan: of('plan'), apply: of('apply') },
    // Rules on the run and its plan: their extra requirements and denials.
    rules,
  };
}

/** The apply is of the plan that was approved: every plan approval is of this plan and its artifacts. */
function checkPlanApprovals(
  approvals: readonly { stage: string; planId: string; artifactHash: string }[],
  plan: { id: string; artifactHash: string },
): void {
  const ofPlan = approvals.filter((a) => a.stage === 'plan');
  if (
    ofPlan.length === 0 ||
    ofPlan.some((a) => a.planId !== plan.id || a.artifactHash !== plan.artifactHash)
  ) {
    throw new Refusal(
      'plan_changed',
      'the plan changed after it was approved: nothing was applied; run the deployment again',
    );
  }
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
    const url = await resolveDatabaseUrl({
      databaseUrl: options.databaseUrl,
      dataDir: options.dataDir,
    });
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
      throw new Refusal(
        'no_config',
        'no server has published its config yet: start deploy-bot serve (or deploy-bot worker) with the deployments config against this database first',
      );
    }
    return this.version;
  }

  private get deployments(): ReadonlyMap<string, Deployment> {
    if (!this.version) {
      throw new Refusal(
        'no_config',
        'no server has published its config yet: start deploy-bot serve (or deploy-bot worker) with the deployments config against this database first',
      );
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
    if (
      kind === 'destroy' &&
      deployment.executor.kind === 'script' &&
      !deployment.executor.destroy
    ) {
      throw new Refusal(
        'not_supported',
        `${deployment.name} cannot be destroyed: its config has no executor.destroy step`,
      );
    }
    const vars = resolveVariables(
      deployment,
      input.variables ?? {},
      kind === 'destroy' ? await this.lastExecuteVariables(deployment) : null,
      { destroy: kind === 'destroy' },
    );
    const source: SourceSummary =
      deployment.source.kind === 'directory'
        ? {
            kind: 'directory',
            gitRef: null,
            commit: null,
            baseDirectory: null,
            location: deployment.source.path,
          }
        : {
            kind: 'git-repository',
            gitRef: deployment.source.ref,
            commit: null,
            baseDirectory: deployment.source.baseDirectory,
            location: deployment.source.url,
          };
    const row = await this.db.transaction(async (tx) => {
      const created = await insertRun(tx, this.queue, {
        id: newId('run'),
        deployment,
        kind,
        actor: input.actor,
        variables: vars.plain,
        secretVariables: vars.secret,
        variableSources: vars.sources,
        source,
        configVersion: version.hash,
      });
      await input.onCreated?.(tx, created.id);
      return created;
    });
    // A new run has no plan and no approvals yet; only a queued one needs a query.
    if (row.status === 'queued') return loadRunView(this.db, row.id);
    return toRunView(row, { plan: null, approvals: [], queue: null });
  }

  /** What a destroy takes by default: the values of the last run that changed the deployment. */
  private async lastExecuteVariables(deployment: Deployment): Promise<PreviousRun | null> {
    const last = await lastCompletedExecute(this.db, deployment.name);
    if (last === null) return null;
    return {
      id: last.id,
      values: { ...last.variables, ...(await readStoredSecretVariables(this.db, last.id)) },
    };
  }

  /** Locks the run row and checks it is in `status` and on the plan the person saw. */
  private async lockForDecision(
    tx: Tx,
    runId: string,
    status: RunStatus,
    options: ActOptions,
  ): Promise<RunRow> {
    const row = await lockRunRow(tx, runId);
    if (!row) {
      throw new Refusal('unknown_run', `there is no run ${runId}: check the id`, { runId });
    }
    if (row.status !== status) {
      const now = STATUS_TABLE[row.status as RunStatus].label.toLowerCase();
      throw new Refusal('wrong_status', `this run is now ${now}`, { status: row.status, runId });
    }
    if (options.planId !== undefined && options.planId !== row.planId) {
      throw new Refusal(
        'plan_changed',
        `this run has a new plan (${row.planId}) since the one you saw (${options.planId}): review it first`,
        { planId: row.planId },
      );
    }
    return row;
  }

  /**
   * Decides on a run waiting for an approval, in one transaction with the row
   * locked. Past the approval deadline nothing is decided: the run is cancelled
   * ("approval expired", as the workers' sweep would) and the person is told.
   */
  private async decide(
    runId: string,
    status: RunStatus,
    options: ActOptions,
    act: (tx: Tx, row: RunRow) => Promise<RunView>,
  ): Promise<RunView> {
    const outcome = await this.db.transaction(async (tx) => {
      const row = await this.lockForDecision(tx, runId, status, options);
      if (await approvalDeadlineIsPast(tx, row.id)) {
        await expireApproval(tx, this.queue, row);
        return { expired: true, row } as const;
      }
      return { expired: false, view: await act(tx, row) } as const;
    });
    if (outcome.expired) {
      const row = outcome.row;
      throw new Refusal(
        'approval_expired',
        `approval expired: run ${row.id} waited longer than ${approvalTimeoutText(row)} (approvalTimeout of ${row.deployment}) for this approval, so it is cancelled and nothing was changed. Run the deployment again`,
        { runId: row.id, status: 'cancelled' },
      );
    }
    return outcome.view;
  }

  async approvePlan(runId: string, actor: Actor, options: ActOptions = {}): Promise<RunView> {
    return this.approve('approve_plan', runId, actor, options);
  }

  async confirmApply(runId: string, actor: Actor, options: ActOptions = {}): Promise<RunView> {
    return this.approve('confirm_apply', runId, actor, options);
  }

  /**
   * An approval of the plan or of the apply, with the run row locked: checked
   * against the stage's requirements and the approvals so far, stored with the
   * entry it counts for; the run moves once, when the requirements hold.
   */
  private approve(
    decision: ApprovalDecision,
    runId: string,
    actor: Actor,
    options: ActOptions,
  ): Promise<RunView> {
    const stage = decision === 'approve_plan' ? 'plan' : 'apply';
    return this.counted(decision, runId, actor, () =>
      this.decide(runId, DECISION_STATUS[decision], options, async (tx, row) => {
        const plan = await this.requirePlan(tx, row);
        const all = await approvalsOfRun(tx, runId);
        const current = all.filter((a) => a.planId === plan.id);
        const rules = await enforceRules(tx, row, plan, current, decision, actor);
        const counts = await checkApprovalDecision(
          decision,
          decisionSubject(row, current, rules.outcome),
          actor,
          this.groups,
        );
        if (stage === 'apply') checkPlanApprovals(all, plan);
        if (stage === 'apply' && counts.satisfied) await this.checkSlotFree(tx, row);
        const note = cleanNote(options.note);
        const inserted = await insertApproval(tx, runId, stage, plan, actor, note, counts.entry);
        await rules.recorded;
        const moves = current
          .filter((a) => a.stage === stage && counts.assignment.get(a.actor) !== a.entry)
          .map((a) => ({ actor: a.actor, entry: counts.assignment.get(a.actor) ?? null }));
        await reassignApprovals(tx, runId, stage, moves);
        const approvals = [
          ...current.map((a) =>
            a.stage === stage ? { ...a, entry: counts.assignment.get(a.actor) ?? null } : a,
          ),
          inserted,
        ];
        if (!counts.satisfied) {
          // Stored and shown ("1 of 2"); the run waits for the rest.
          const touched = await touchRun(tx, runId);
          return toRunView(touched, { plan, approvals, queue: null });
        }
        const by = approvals.filter((a) => a.stage === stage).map((a) => a.actor);
        const what =
          stage === 'plan'
            ? 'plan approved'
            : `${row.kind === 'destroy' ? 'destroy' : 'apply'} confirmed`;
        const moved = await this.move(
          tx,
          row,
          stage === 'plan' ? 'awaiting_apply_approval' : changeStatusFor(row.kind as RunKind),
          actor,
          `${what} by ${by.join(', ')}${note !== null ? `: ${note}` : ''}`,
        );
        return toRunView(moved, { plan, approvals, queue: null });
      }),
    );
  }

  /** The apply takes the deployment's slot: refused while another run of it holds the slot. */
  private async checkSlotFree(tx: Tx, row: RunRow): Promise<void> {
    await lockDeployment(tx, row.deployment);
    const holder = await slotHolder(tx, row.deployment);
    if (holder) {
      throw new Refusal(
        'deployment_busy',
        `${row.deployment} is busy: ${holder.id} is ${STATUS_TABLE[holder.status as RunStatus].label.toLowerCase()}. Press Apply again when it finishes; your plan stays valid unless that run applies`,
        { behind: holder.id },
      );
    }
  }

  async cancelRun(runId: string, actor: Actor, options: ActOptions = {}): Promise<RunView> {
    return this.counted('cancel', runId, actor, () =>
      this.db.transaction(async (tx) => {
        const row = await lockRunRow(tx, runId);
        if (!row) throw new Refusal('unknown_run', `there is no run ${runId}: check the id`);
        const status = row.status as RunStatus;
        if (!STATUS_TABLE[status].cancellable) {
          const label = STATUS_TABLE[status].label.toLowerCase();
          throw new Refusal(
            STATUS_TABLE[status].next.length === 0 ? 'wrong_status' : 'not_cancellable',
            STATUS_TABLE[status].next.length === 0
              ? `this run is already ${label}`
              : `this run is ${label} and cannot be cancelled: the changes are in progress. Wait for it to finish`,
            { status },
          );
        }
        await checkDecision('cancel', decisionSubject(row, []), actor, this.groups);
        const reason =
          options.reason?.replaceAll('\0', '').toWellFormed().trim().slice(0, 2000) ||
          'cancelled by request';
        const moved = await this.move(tx, row, 'cancelled', actor, reason, {
          cancelledBy: actor.id,
          cancelReason: reason,
        });
        const [view] = await loadRunViews(tx, [moved]);
        return view!;
      }),
    );
  }

  /** Logs and counts the decision (accepted, or refused with its code) in the shared totals. */
  private async counted<T>(
    decision: DecisionName,
    runId: string,
    actor: Actor,
    act: () => Promise<T>,
  ): Promise<T> {
    const line = { runId, decision, actor: actor.id, via: actor.via };
    let result: T;
    try {
      result = await act();
    } catch (error) {
      if (isRefusal(error)) {
        await recordRefusedEvaluation(this.db, error);
        processLog().info('decision refused', { ...line, code: error.code, result: 'refused' });
        await this.countDecision(decision, 'refused', error.code);
      }
      throw error;
    }
    processLog().info('decision', { ...line, code: 'ok', result: 'accepted' });
    await this.countDecision(decision, 'accepted', 'ok');
    return result;
  }

  private async countDecision(
    decision: DecisionName,
    result: 'accepted' | 'refused',
    code: string,
  ) {
    try {
      await countDecision(this.db, decision, result, code);
    } catch (error) {
      this.log(`could not count a decision for the metrics: ${errorMessage(error)}`);
    }
  }

  private async requirePlan(tx: Tx, row: RunRow) {
    const plan = row.planId ? await planById(tx, row.planId) : null;
    if (!plan) throw new Error(`run ${row.id} is waiting for approval without a plan`);
    return plan;
  }

  private async move(
    tx: Tx,
    row: RunRow,
    to: RunStatus,
    actor: Actor,
    reason: string,
    patch: Partial<typeof runsTable.$inferInsert> = {},
  ) {
    const outcome = await transition(tx, this.queue, {
      runId: row.id,
      kind: row.kind as RunKind,
      from: row.status as RunStatus,
      to,
      actor,
      reason,
      patch,
    });
    if (!outcome.ok)
      throw new Refusal('wrong_status', outcome.reason, { status: outcome.run?.status });
    return outcome.run;
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
    return async (actor) => ({
      ...view,
      allowed: await this.allowedFor(view.status, row, approvals, actor, view.plan),
    });
  }

  /** The decisions `actor` may take on a run now. */
  async decisionsFor(runId: string, actor: Actor): Promise<Decision[]> {
    const row = await requireRunRow(this.db, runId);
    const [approvals, plan] = await Promise.all([
      approvalsOfRun(this.db, runId).then((all) => all.filter((a) => a.planId === row.planId)),
      row.planId ? planById(this.db, row.planId) : null,
    ]);
    return this.allowedFor(row.status as RunStatus, row, approvals, actor, plan);
  }

  /** The decisions `actor` may take on a run in `status`: the check each decision runs. */
  private async allowedFor(
    status: RunStatus,
    row: RunRow,
    approvals: readonly { stage: string; actor: string; entry: number | null }[],
    actor: Actor,
    plan: PlanFacts | null,
  ): Promise<Decision[]> {
    const rules = decisionsAt(status).some((d) => d !== 'cancel')
      ? await currentRulesOutcome(this.db, row, plan, approvals)
      : NO_RULES;
    return allowedDecisions(status, decisionSubject(row, approvals, rules), actor, this.groups);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunView[]> {
    return loadRunViews(this.db, await listRunRows(this.db, filter));
  }

  transitions(runId: string): Promise<TransitionView[]> {
    return requireRunRow(this.db, runId).then(() => listTransitions(this.db, runId));
  }

  /** Each evaluation of the run's rules (the audit's other half), oldest first. */
  policyEvaluations(runId: string): Promise<PolicyEvaluationView[]> {
    return requireRunRow(this.db, runId).then(() => listEvaluations(this.db, runId));
  }

  async planText(runId: string): Promise<string | null> {
    const row = await requireRunRow(this.db, runId);
    if (!row.planId) return null;
    return planTextOf(this.db, row.planId);
  }

  /** Deployments a person may run here (the channel rule applies for Slack). */
  async listDeployments(actor?: Actor): Promise<DeploymentView[]> {
    await this.refreshConfig();
    const all = [...this.deployments.values()].filter(
      (d) =>
        actor?.via !== 'slack' ||
        !d.channels ||
        (actor.channel !== undefined && d.channels.includes(actor.channel)),
    );
    const names = all.map((d) => d.name);
    const { counts, active } = await deploymentActivity(this.db, names);
    const activeViews = await loadRunViews(this.db, active);
    return all.map((d) => {
      const count = (status: string) =>
        counts
          .filter((c) => c.deployment === d.name && c.status === status)
          .reduce((n, c) => n + c.n, 0);
      return {
        name: d.name,
        environment: d.environment,
        description: d.description,
        approvers: d.approvers,
        channels: d.channels ?? null,
        variables: Object.fromEntries(
          Object.entries(d.variables).map(([name, spec]) => [
            name,
            {
              type: spec.type,
              required: spec.required,
              sensitive: spec.sensitive,
              default: spec.sensitive ? undefined : spec.default,
              options: spec.type === 'select' ? spec.options : undefined,
              description: spec.description,
            },
          ]),
        ),
        usage: usageOf(d),
        hasDestroy: d.executor.kind === 'terraform' || d.executor.destroy !== undefined,
        state: {
          active: activeViews.find((v) => v.deployment === d.name) ?? null,
          queued: count('queued'),
          awaiting: count('awaiting_plan_approval') + count('awaiting_apply_approval'),
        },
      };
    });
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
  async followLogs(
    runId: string,
    onLines: (lines: LogLine[], skipped: number) => void,
    options: {
      afterId?: number;
      /**
       * A follower that shows only the end (a terminal window) sets this: when
       * more lines are waiting, it gets only the newest `keepNewest` of them and
       * the number it skipped, instead of paging through all of them.
       */
      keepNewest?: number;
    } = {},
  ): Promise<Unsubscribe> {
    let cursor = options.afterId ?? 0;
    let pumping: Promise<void> | null = null;
    let again = false;
    let closed = false;
    const pump = async () => {
      if (pumping) {
        again = true;
        return pumping;
      }
      pumping = (async () => {
        do {
          again = false;
          while (!closed) {
            const keep = options.keepNewest;
            if (keep !== undefined) {
              // Only the end is wanted: read it directly; count what it skips.
              const newest = (await this.readLogs(runId, { tail: keep })).filter(
                (l) => l.id > cursor,
              );
              if (newest.length === 0) break;
              let skipped = 0;
              if (newest.length === keep) {
                const waiting = await countLogLines(this.db, runId, cursor);
                skipped = Math.max(0, waiting - newest.length);
              }
              cursor = newest[newest.length - 1]!.id;
              onLines(newest, skipped);
              break;
            }
            const lines = await this.readLogs(runId, { afterId: cursor, limit: 5000 });
            if (lines.length === 0) break;
            cursor = lines[lines.length - 1]!.id;
            onLines(lines, 0);
            if (lines.length < 5000) break;
          }
        } while (again && !closed);
      })().finally(() => {
        pumping = null;
      });
      return pumping;
    };
    // A failed read loses nothing (the cursor moves only on success): the next
    // NOTIFY or reconnect reads again. The failure is still reported.
    const pumpReporting = () =>
      void pump().catch((error: unknown) =>
        this.log(
          `following the log of ${runId} failed, resuming with the next line: ${errorMessage(error)}`,
        ),
      );
    const listener = await this.connection.sql.listen(
      LOG_CHANNEL,
      (payload) => {
        if (payload === runId) pumpReporting();
      },
      // Runs on every (re)connect: catch up on what was written meanwhile.
      pumpReporting,
    );
    return async () => {
      closed = true;
      await listener.unlisten();
    };
  }

  /** The runs changed since a moment (newest state of each), oldest change first: a follower catching up. */
  runChangesSince(since: Date, limit = 500): Promise<RunChange[]> {
    return runsChangedSince(this.db, since, limit);
  }

  /**
   * Token revocations by any process (the ids); `onResync` fires after a
   * reconnect, when some may have been missed.
   */
  async subscribeTokenRevocations(
    onRevoked: (ids: readonly string[]) => void,
    onResync: () => void,
  ): Promise<Unsubscribe> {
    let first = true;
    const listener = await this.connection.sql.listen(
      TOKEN_REVOKED_CHANNEL,
      (payload) => onRevoked(payload.split(',')),
      () => {
        if (!first) onResync();
        first = false;
      },
    );
    return () => listener.unlisten();
  }

  /** Every change of every run, from any process. `onResync` fires after a reconnect. */
  async subscribeRuns(
    onChange: (change: RunChange) => void,
    onResync?: () => void,
  ): Promise<Unsubscribe> {
    let first = true;
    const listener = await this.connection.sql.listen(
      RUN_CHANNEL,
      (payload) => {
        const [runId, version, status, ...deployment] = payload.split(':');
        if (!runId || !version || !status) return;
        onChange({
          runId,
          version: Number(version),
          status: status as RunStatus,
          deployment: deployment.join(':'),
        });
      },
      () => {
        if (!first) onResync?.();
        first = false;
      },
    );
    return () => listener.unlisten();
  }
}
