// The run store: rows in, views out, and the one function that moves a run
// between statuses. A transition is a compare-and-set on the status, recorded in
// the audit trail, announced with NOTIFY, and enqueues its follow-up job in the
// same transaction. The database's unique index keeps one run per slot.

import type {
  Actor,
  ApprovalView,
  PlannedChange,
  PlanView,
  PolicyView,
  RunFilter,
  RunView,
  TransitionView,
  Via,
} from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { Refusal } from '../errors.ts';
import {
  AWAITING_APPROVAL_STATUSES,
  decideTransition,
  isTerminal,
  type Phase,
  phaseOf,
  type RunKind,
  type RunStatus,
  SLOT_STATUSES,
  STATUS_TABLE,
} from '../lifecycle/statuses.ts';
import { noteRun } from '../logs/logger.ts';
import { MASK } from '../logs/redact.ts';
import { outcomeOf, recordTransition } from '../metrics/instruments.ts';
import { finishedTotalSql } from '../metrics/totals.ts';
import { policyStages } from '../policy/evaluate.ts';
import { viewRulesOutcome, warmRunPolicies } from '../policy/run-policy.ts';
import type { Queue } from '../queue/boss.ts';
import type { Db, Tx } from './database.ts';
import { and, asc, eq, gt, inArray, isNull, sql } from './orm.ts';
import { returningRows, rowMapper, selectRows } from './rows.ts';
import { approvals, plans, runs, runTransitions } from './schema.ts';
import { encryptSecretVariables, sealConfig } from './secrets.ts';

export type RunRow = typeof runs.$inferSelect;
export type PlanRow = typeof plans.$inferSelect;

export const RUN_CHANNEL = 'deploy_run_changed';

export type TransitionInput = {
  readonly runId: string;
  /** The run's kind (it never changes): decides which moves are allowed. */
  readonly kind: RunKind;
  /** The status the caller saw: the change happens only from it. */
  readonly from: RunStatus;
  readonly to: RunStatus;
  readonly actor: Actor;
  readonly reason?: string | undefined;
  /** Extra columns to set with the status. */
  readonly patch?: Partial<Omit<typeof runs.$inferInsert, 'id' | 'status' | 'version'>>;
  /** The worker continues with the run in the same job (no new job is enqueued). */
  readonly keepWorker?: boolean;
  /**
   * The move also claims the run for this worker, and happens only when no
   * worker has it: a worker's pickup of a pending run is one statement.
   */
  readonly claimFor?: string;
};

export type TransitionOutcome =
  | { readonly ok: true; readonly run: RunRow }
  | { readonly ok: false; readonly run: RunRow | null; readonly reason: string };

/** Whether the move does more than its one statement (a job, the slot, other runs). */
function hasFollowUps(input: TransitionInput): boolean {
  const keepsWorker = input.keepWorker || input.claimFor !== undefined;
  return (
    (STATUS_TABLE[input.to].working && !keepsWorker) ||
    input.to === 'applying' ||
    input.to === 'destroying' ||
    (SLOT_STATUSES.includes(input.from) && !SLOT_STATUSES.includes(input.to))
  );
}

/** A row of `runs` as the driver returned it (column names) → RunRow, as drizzle maps it. */
export const runRowFrom = rowMapper(runs);

/**
 * The compare-and-set, its audit row and its NOTIFY as one statement: the
 * UPDATE matches only while the run is still in `from`, so a concurrent move
 * makes it match nothing (and the caller is told what the run is now).
 */
async function compareAndSet(
  db: Db | Tx,
  input: TransitionInput,
  /** Also take the deployment's slot lock (the move frees the slot). */
  lockSlot = false,
): Promise<TransitionOutcome> {
  const decision = decideTransition(input.kind, input.from, input.to);
  if (!decision.ok) return { ok: false, run: null, reason: decision.reason };
  const update = db
    .update(runs)
    .set({
      ...input.patch,
      status: input.to,
      statusSince: sql`now()`,
      updatedAt: sql`now()`,
      version: sql`${runs.version} + 1`,
      ...(input.claimFor !== undefined
        ? {
            workerId: input.claimFor,
            heartbeatAt: sql`now()`,
            stepAttempt: sql`${runs.stepAttempt} + 1`,
          }
        : input.keepWorker
          ? {}
          : { workerId: null, heartbeatAt: null, stepPid: null, stepAttempt: 0 }),
      ...(isTerminal(input.to) ? { finishedAt: sql`now()` } : {}),
    })
    .where(
      and(
        eq(runs.id, input.runId),
        eq(runs.status, input.from),
        input.claimFor !== undefined ? isNull(runs.workerId) : undefined,
      ),
    );
  // `returning *` rather than drizzle's column list: building that list for
  // thirty columns costs more than the rest of the statement.
  const finished = isTerminal(input.to)
    ? finishedTotalSql(outcomeOf(input.to, input.reason))
    : sql``;
  const rows = await db.execute<Record<string, unknown>>(sql`
    with before as (select status_since from runs where id = ${input.runId}),
    updated as (${update.getSQL()} returning *),${finished}
    audit as (
      insert into run_transitions (run_id, from_status, to_status, actor, via, reason, credential)
      select id, ${input.from}, status, ${input.actor.id}, ${input.actor.via}, ${input.reason ?? null}, ${input.actor.credential ?? null}
      from updated
    )
    select updated.*, pg_notify(${RUN_CHANNEL}, ${runChangedPayloadSql}),
      extract(epoch from now() - (select status_since from before))::float8 as left_status_after
      ${lockSlot ? sql`, pg_advisory_xact_lock(hashtext(${SLOT_LOCK_PREFIX} || updated.deployment))` : sql``}
    from updated`);
  const raw = rows[0];
  if (raw) {
    noteRun({ id: String(raw.id), deployment: String(raw.deployment), status: input.to });
    recordTransition({
      kind: input.kind,
      from: input.from,
      to: input.to,
      seconds: Number(raw.left_status_after),
      reason: input.reason,
    });
    return { ok: true, run: runRowFrom(raw) };
  }
  if (input.claimFor !== undefined)
    return { ok: false, run: null, reason: 'another worker has the run, or it moved on' };
  const current = await getRunRow(db, input.runId);
  if (!current) return { ok: false, run: null, reason: `run ${input.runId} does not exist` };
  const label = STATUS_TABLE[current.status as RunStatus].label.toLowerCase();
  return { ok: false, run: current, reason: `the run is now ${label}` };
}

/**
 * Moves a run from `from` to `to` in the caller's transaction, with what the
 * move implies: the follow-up job, superseding stale plans, starting the next
 * queued run when the slot frees. Nothing changes when the run is no longer in
 * `from` (someone else moved it).
 */
export async function transition(
  tx: Tx,
  queue: Queue,
  input: TransitionInput,
): Promise<TransitionOutcome> {
  const freesSlot = SLOT_STATUSES.includes(input.from) && !SLOT_STATUSES.includes(input.to);
  const outcome = await compareAndSet(tx, input, freesSlot);
  if (!outcome.ok) return outcome;
  const updated = outcome.run;
  if (STATUS_TABLE[input.to].working && !input.keepWorker && input.claimFor === undefined) {
    await queue.sendStep(tx, { runId: updated.id, status: input.to, kind: input.kind });
  }
  if (input.to === 'applying' || input.to === 'destroying') {
    await supersedeWaitingRuns(tx, queue, updated);
  }
  if (freesSlot) await promoteNext(tx, queue, updated.deployment, { locked: true });
  return outcome;
}

/**
 * A transition on its own: one statement when the move implies nothing else
 * (a worker going from step to step), a transaction when it does.
 */
export async function moveRun(
  db: Db,
  queue: Queue,
  input: TransitionInput,
): Promise<TransitionOutcome> {
  if (!hasFollowUps(input)) return compareAndSet(db, input);
  return db.transaction((tx) => transition(tx, queue, input));
}

type ChangedRun = Pick<RunRow, 'id' | 'version' | 'status' | 'deployment'>;

/** `runId:version:status:deployment`, what subscribeRuns parses. */
export function runChangedPayload(run: ChangedRun): string {
  return `${run.id}:${run.version}:${run.status}:${run.deployment}`;
}

/** The same payload, built by the database from a row named `updated`. */
const runChangedPayloadSql = sql.raw(
  `updated.id || ':' || updated.version || ':' || updated.status || ':' || updated.deployment`,
);

/**
 * A change of the run that is no move (an approval that does not complete its
 * stage yet): a new version and the NOTIFY, so every front end shows it.
 */
export async function touchRun(tx: Tx, runId: string): Promise<RunRow> {
  const [row] = await returningRows(
    tx,
    runs,
    tx
      .update(runs)
      .set({ version: sql`${runs.version} + 1`, updatedAt: sql`now()` })
      .where(eq(runs.id, runId)),
  );
  if (!row) throw new Error(`run ${runId} vanished while it was locked`);
  await notifyRunChanged(tx, row);
  return row;
}

export async function notifyRunChanged(
  tx: Tx,
  run: Pick<RunRow, 'id' | 'version' | 'status' | 'deployment'>,
) {
  await tx.execute(sql`select pg_notify(${RUN_CHANNEL}, ${runChangedPayload(run)})`);
}

const SYSTEM: Actor = { id: 'system', via: 'system' };

/** Plans made before another run's apply are stale: cancel the runs waiting on them. */
async function supersedeWaitingRuns(tx: Tx, queue: Queue, applying: RunRow) {
  const waiting = await tx
    .select({ id: runs.id, status: runs.status, kind: runs.kind })
    .from(runs)
    .where(
      and(
        eq(runs.deployment, applying.deployment),
        inArray(runs.status, [...AWAITING_APPROVAL_STATUSES]),
        sql`${runs.id} <> ${applying.id}`,
      ),
    );
  for (const run of waiting) {
    await transition(tx, queue, {
      runId: run.id,
      kind: run.kind as RunKind,
      from: run.status as RunStatus,
      to: 'cancelled',
      actor: SYSTEM,
      reason: `superseded: ${applying.id} started to ${applying.kind === 'destroy' ? 'destroy' : 'apply'} ${applying.deployment} after this plan was made, so the plan is stale`,
      patch: { cancelledBy: 'system', cancelReason: `superseded by ${applying.id}` },
    });
  }
}

const SLOT_LOCK_PREFIX = 'deploy-bot:slot:';
const SLOT_STATUS_LIST = sql.raw(SLOT_STATUSES.map((status) => `'${status}'`).join(', '));

/** Serialises slot decisions (promotion, apply start) for one deployment. */
export async function lockDeployment(tx: Tx, deployment: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${SLOT_LOCK_PREFIX + deployment}))`);
}

/** The run holding the deployment's slot, if any. */
export async function slotHolder(tx: Tx | Db, deployment: string): Promise<RunRow | null> {
  const [row] = await selectRows(
    tx,
    runs,
    and(eq(runs.deployment, deployment), inArray(runs.status, [...SLOT_STATUSES])),
    sql`limit 1`,
  );
  return row ?? null;
}

/** Starts the oldest queued run of the deployment when its slot is free. */
export async function promoteNext(
  tx: Tx,
  queue: Queue,
  deployment: string,
  options: { readonly locked?: boolean } = {},
): Promise<RunRow | null> {
  // The slot lock first; the query after it sees every promotion before ours.
  if (!options.locked) await lockDeployment(tx, deployment);
  // The oldest queued run, only while nothing holds the slot: one query.
  const [next] = await tx
    .select({ id: runs.id, kind: runs.kind })
    .from(runs)
    .where(
      and(
        eq(runs.deployment, deployment),
        eq(runs.status, 'queued'),
        sql`not exists (select 1 from runs holder where holder.deployment = ${deployment} and holder.status in (${SLOT_STATUS_LIST}))`,
      ),
    )
    .orderBy(asc(runs.seq))
    .limit(1)
    .for('update', { skipLocked: true });
  if (!next) return null;
  const outcome = await transition(tx, queue, {
    runId: next.id,
    kind: next.kind as RunKind,
    from: 'queued',
    to: 'pending',
    actor: SYSTEM,
    reason: 'the deployment is free: starting',
  });
  return outcome.ok ? outcome.run : null;
}

export type NewRun = {
  readonly id: string;
  readonly deployment: Deployment;
  readonly kind: RunKind;
  readonly actor: Actor;
  readonly variables: Record<string, string | number | boolean>;
  readonly secretVariables: Record<string, string | number | boolean>;
  readonly variableSources?: RunRow['variableSources'];
  readonly source: RunRow['source'];
  /** The published config version the deployment comes from. */
  readonly configVersion: string;
};

/**
 * The deployment as a run keeps it. Its rules stay in the config version the
 * run names (read from there, once per process): fifty rules would otherwise
 * ride along in every read and update of the run's row.
 */
export function runSnapshot(deployment: Deployment): Deployment {
  const { appliedRules: _rules, ...snapshot } = deployment;
  return snapshot;
}

/** Inserts a queued run and starts it at once when the deployment is free. */
export async function insertRun(tx: Tx, queue: Queue, input: NewRun): Promise<RunRow> {
  const [row] = await returningRows(
    tx,
    runs,
    tx.insert(runs).values({
      id: input.id,
      deployment: input.deployment.name,
      environment: input.deployment.environment,
      kind: input.kind,
      status: 'queued',
      requestedBy: input.actor.id,
      requestedVia: input.actor.via,
      channel: input.actor.channel ?? null,
      variables: input.variables,
      // Encrypted at rest: read back only through readSecretVariables / openConfig.
      secretVariables: encryptSecretVariables(input.secretVariables),
      variableSources: input.variableSources ?? {},
      source: input.source,
      config: sealConfig(runSnapshot(input.deployment)),
      configVersion: input.configVersion,
    }),
  );
  if (!row) throw new Error('inserting the run returned nothing');
  await tx.insert(runTransitions).values({
    runId: row.id,
    fromStatus: null,
    toStatus: 'queued',
    actor: input.actor.id,
    via: input.actor.via,
    credential: input.actor.credential ?? null,
    reason: `requested ${input.kind}`,
  });
  await notifyRunChanged(tx, row);
  const started = await promoteNext(tx, queue, row.deployment);
  return started?.id === row.id ? started : row;
}

export async function getRunRow(db: Db | Tx, runId: string): Promise<RunRow | null> {
  const [row] = await selectRows(db, runs, eq(runs.id, runId));
  return row ?? null;
}

/** The run's row, locked for the caller's transaction (a decision about it). */
export async function lockRunRow(tx: Tx, runId: string): Promise<RunRow | null> {
  const [row] = await selectRows(tx, runs, eq(runs.id, runId), sql`for update`);
  return row ?? null;
}

/** Per deployment: how many runs are queued or awaiting a person, and the runs holding slots. */
export async function deploymentActivity(
  db: Db,
  names: readonly string[],
): Promise<{
  counts: { deployment: string; status: string; n: number }[];
  active: RunRow[];
}> {
  if (names.length === 0) return { counts: [], active: [] };
  const [counts, active] = await Promise.all([
    db
      .select({ deployment: runs.deployment, status: runs.status, n: sql<number>`count(*)::int` })
      .from(runs)
      .where(
        and(
          inArray(runs.deployment, [...names]),
          inArray(runs.status, ['queued', ...AWAITING_APPROVAL_STATUSES]),
        ),
      )
      .groupBy(runs.deployment, runs.status),
    selectRows(
      db,
      runs,
      and(inArray(runs.deployment, [...names]), inArray(runs.status, [...SLOT_STATUSES])),
    ),
  ]);
  return { counts, active };
}

export async function requireRunRow(db: Db | Tx, runId: string): Promise<RunRow> {
  const row = await getRunRow(db, runId);
  if (!row) {
    throw new Refusal('unknown_run', `there is no run ${runId}: check the id`, {
      runId,
    });
  }
  return row;
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** Variables in the config's order, sensitive values masked. */
function maskedVariables(row: RunRow): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const order = Object.keys((row.config as Deployment).variables ?? {});
  for (const key of [
    ...order,
    ...Object.keys(row.variables),
    ...Object.keys(row.secretVariables),
  ]) {
    if (key in out) continue;
    if (key in row.secretVariables) out[key] = MASK;
    else if (key in row.variables) out[key] = row.variables[key]!;
  }
  return out;
}

export function planView(plan: PlanRow): PlanView {
  return {
    id: plan.id,
    known: plan.known,
    add: plan.add,
    change: plan.change,
    destroy: plan.destroy,
    changes: plan.changes as PlannedChange[],
    artifactHash: plan.artifactHash,
    createdAt: plan.createdAt.toISOString(),
  };
}

type Extras = {
  plan: PlanRow | null;
  approvals: (typeof approvals.$inferSelect)[];
  queue: RunView['queue'];
};

export function toRunView(row: RunRow, extras: Extras, now = new Date()): RunView {
  const status = row.status as RunStatus;
  noteRun(row);
  const end = row.finishedAt ?? now;
  const stageOrder = (stage: string) => (stage === 'plan' ? 0 : 1);
  const approvalViews: ApprovalView[] = extras.approvals
    .sort(
      (a, b) =>
        stageOrder(a.stage) - stageOrder(b.stage) ||
        a.createdAt.getTime() - b.createdAt.getTime() ||
        a.actor.localeCompare(b.actor),
    )
    .map((a) => ({
      stage: a.stage as ApprovalView['stage'],
      by: a.actor,
      via: a.via as Via,
      at: a.createdAt.toISOString(),
      planId: a.planId,
      note: a.note,
      entry: a.entry,
      overrideReason: a.overrideReason,
    }));
  return {
    id: row.id,
    deployment: row.deployment,
    environment: row.environment,
    kind: row.kind as RunKind,
    status,
    statusLabel: STATUS_TABLE[status].label,
    currentPhase: phaseOf(status),
    failedPhase: (row.failedPhase as Phase | null) ?? null,
    sourceSummary: row.source,
    variables: maskedVariables(row),
    variableSources: row.variableSources ?? {},
    plan: extras.plan ? planView(extras.plan) : null,
    approvals: approvalViews,
    policy: runPolicyView(row, approvalViews, extras.plan),
    outputs: row.outputs ?? null,
    error: row.error,
    recoveryHint: row.recoveryHint,
    cancel: row.cancelledBy ? { by: row.cancelledBy, reason: row.cancelReason ?? '' } : null,
    requestedBy: row.requestedBy,
    requestedVia: row.requestedVia as Via,
    channel: row.channel,
    queue: extras.queue,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: iso(row.finishedAt),
    durationSeconds: Math.max(0, Math.round((end.getTime() - row.createdAt.getTime()) / 1000)),
    version: row.version,
    configVersion: row.configVersion,
  };
}

/** The policy's state from the run's config snapshot and its stored approvals. */
function runPolicyView(
  row: RunRow,
  approvalViews: readonly ApprovalView[],
  plan: PlanRow | null,
): PolicyView | null {
  const deployment = row.config as Deployment | null;
  if (!deployment || !Array.isArray(deployment.approvers)) return null;
  const stored = approvalViews.map((a) => ({
    stage: a.stage,
    actor: a.by,
    entry: a.entry ?? null,
  }));
  // The rules' answer now (the audit keeps what they said at each decision).
  const rules = viewRulesOutcome(row, plan, stored);
  return {
    ...policyStages(deployment, stored, rules),
    rules: rules.results,
    freeze: null,
    locks: [],
  };
}

async function queueInfo(db: Db | Tx, row: RunRow): Promise<RunView['queue']> {
  if (row.status !== 'queued') return null;
  const [ahead] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(runs)
    .where(
      and(
        eq(runs.deployment, row.deployment),
        eq(runs.status, 'queued'),
        sql`${runs.seq} < ${row.seq}`,
      ),
    );
  const holder = await slotHolder(db, row.deployment);
  return { behind: holder?.id ?? null, position: (ahead?.n ?? 0) + 1 };
}

export async function loadRunViews(db: Db | Tx, rows: readonly RunRow[]): Promise<RunView[]> {
  if (rows.length === 0) return [];
  const planIds = rows.map((r) => r.planId).filter((p): p is string => p !== null);
  const ids = rows.map((r) => r.id);
  const [planRows, approvalRows] = await Promise.all([
    planIds.length ? selectRows(db, plans, inArray(plans.id, planIds)) : Promise.resolve([]),
    selectRows(db, approvals, inArray(approvals.runId, ids)),
  ]);
  const planById = new Map(planRows.map((p) => [p.id, p]));
  await warmRunPolicies(db, rows);
  const now = new Date();
  return Promise.all(
    rows.map(async (row) =>
      toRunView(
        row,
        {
          plan: row.planId ? (planById.get(row.planId) ?? null) : null,
          approvals: approvalRows.filter((a) => a.runId === row.id && a.planId === row.planId),
          queue: await queueInfo(db, row),
        },
        now,
      ),
    ),
  );
}

/**
 * One run with its plan and its approvals in one statement (one snapshot, one
 * round trip: a GET of a run over the API waits for nothing else). The plan and
 * approvals come as JSON of their rows and are mapped as their tables' rows.
 */
export async function loadRunView(db: Db | Tx, runId: string): Promise<RunView> {
  const [raw] = await db.execute<Record<string, unknown>>(sql`
    select r.*,
      (select row_to_json(p) from plans p where p.id = r.plan_id) as "__plan",
      (select coalesce(json_agg(a), '[]'::json) from approvals a
        where a.run_id = r.id and a.plan_id = r.plan_id) as "__approvals"
    from runs r where r.id = ${runId}`);
  if (!raw)
    return requireRunRow(db, runId).then((row) => loadRunViews(db, [row]).then((v) => v[0]!));
  const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
  const row = rowMapper(runs)(raw);
  await warmRunPolicies(db, [row]);
  const plan = json(raw.__plan) as Record<string, unknown> | null;
  const approvalRows = json(raw.__approvals) as Record<string, unknown>[];
  return toRunView(
    row,
    {
      plan: plan ? rowMapper(plans)(plan) : null,
      approvals: approvalRows.map(rowMapper(approvals)),
      queue: await queueInfo(db, row),
    },
    new Date(),
  );
}

export async function listRunRows(db: Db, filter: RunFilter): Promise<RunRow[]> {
  const conditions = [];
  if (filter.deployment) conditions.push(eq(runs.deployment, filter.deployment));
  if (filter.environment) conditions.push(eq(runs.environment, filter.environment));
  if (filter.statuses && filter.statuses.length > 0)
    conditions.push(inArray(runs.status, [...filter.statuses]));
  if (filter.before)
    conditions.push(sql`${runs.seq} < (select seq from runs where id = ${filter.before})`);
  if (filter.requestedBy) conditions.push(eq(runs.requestedBy, filter.requestedBy));
  return selectRows(
    db,
    runs,
    conditions.length ? and(...conditions) : undefined,
    sql`order by ${runs.seq} desc limit ${Math.min(Math.max(filter.limit ?? 50, 1), 5000)}`,
  );
}

export async function listTransitions(db: Db, runId: string): Promise<TransitionView[]> {
  const rows = await db
    .select()
    .from(runTransitions)
    .where(eq(runTransitions.runId, runId))
    .orderBy(asc(runTransitions.id));
  return rows.map((r) => ({
    from: (r.fromStatus as RunStatus | null) ?? null,
    to: r.toStatus as RunStatus,
    actor: r.actor,
    via: r.via as Via,
    reason: r.reason,
    credential: r.credential,
    at: r.createdAt.toISOString(),
  }));
}

/** The runs changed since a moment (their newest state), oldest change first. */
export async function runsChangedSince(db: Db, since: Date, limit: number) {
  const rows = await db
    .select({
      runId: runs.id,
      version: runs.version,
      status: runs.status,
      deployment: runs.deployment,
    })
    .from(runs)
    .where(gt(runs.updatedAt, since))
    .orderBy(asc(runs.updatedAt))
    .limit(limit);
  return rows.map((r) => ({ ...r, status: r.status as RunStatus }));
}
