// The run rows: reading them (one, a page, what changed) for the modules that
// move runs (transition.ts), decide about them (the core) and show them
// (views/runs.ts). Moving a run is transition.ts's job only.

import type { SQL } from 'drizzle-orm';
import type { RunFilter } from '../api/types.ts';
import { Refusal } from '../errors.ts';
import {
  AWAITING_APPROVAL_STATUSES,
  RUN_STATUSES,
  type RunStatus,
  SLOT_STATUSES,
} from '../lifecycle/statuses.ts';
import type { Db, Tx } from './database.ts';
import type { LockRow } from './locks.ts';
import { and, asc, eq, gt, inArray, sql } from './orm.ts';
import type { ApprovalRow, PlanRow } from './plans.ts';
import { returningRows, rowMapper, selectRows } from './rows.ts';
import { notifyRunChanged } from './run-notifications.ts';
import { approvals, locks, plans, runs, runTransitions } from './schema.ts';

export type RunRow = typeof runs.$inferSelect;

/** A row of `runs` as the driver returned it (column names) → RunRow, as drizzle maps it. */
export const runRowFrom = rowMapper(runs);

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

/** The refusal for a run id that names no run (each front end adds where to find one). */
export function noSuchRun(runId: string): Refusal {
  return new Refusal('unknown_run', `there is no run ${runId}: check the id`, { runId });
}

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

export async function requireRunRow(db: Db | Tx, runId: string): Promise<RunRow> {
  const row = await getRunRow(db, runId);
  if (!row) throw noSuchRun(runId);
  return row;
}

/** The plans and approvals of runs (the approvals of each run's current plan). */
export async function plansAndApprovalsOf(
  db: Db | Tx,
  rows: readonly RunRow[],
): Promise<{ plans: PlanRow[]; approvals: ApprovalRow[] }> {
  const planIds = rows.map((r) => r.planId).filter((p): p is string => p !== null);
  const ids = rows.map((r) => r.id);
  const [planRows, approvalRows] = await Promise.all([
    planIds.length ? selectRows(db, plans, inArray(plans.id, planIds)) : Promise.resolve([]),
    selectRows(db, approvals, inArray(approvals.runId, ids)),
  ]);
  return { plans: planRows, approvals: approvalRows };
}

/**
 * One run with its plan and the approvals of that plan in one statement (one
 * snapshot, one round trip). The plan and approvals come as JSON of their rows
 * and are mapped as their tables' rows. Null when there is no such run.
 */
export async function runWithPlan(
  db: Db | Tx,
  runId: string,
): Promise<{
  row: RunRow;
  plan: PlanRow | null;
  approvals: ApprovalRow[];
  locks: LockRow[];
} | null> {
  const [raw] = await db.execute<Record<string, unknown>>(sql`
    select r.*,
      (select row_to_json(p) from plans p where p.id = r.plan_id) as "__plan",
      (select coalesce(json_agg(a), '[]'::json) from approvals a
        where a.run_id = r.id and a.plan_id = r.plan_id) as "__approvals",
      (select coalesce(json_agg(l), '[]'::json) from locks l where l.unlocked_at is null
        and (l.scope = 'all' or (l.scope = 'deployment' and l.target = r.deployment)
          or (l.scope = 'environment' and l.target = r.environment))) as "__locks"
    from runs r where r.id = ${runId}`);
  if (!raw) return null;
  const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
  const plan = json(raw.__plan) as Record<string, unknown> | null;
  const approvalRows = json(raw.__approvals) as Record<string, unknown>[];
  const lockRows = json(raw.__locks) as Record<string, unknown>[];
  return {
    row: runRowFrom(raw),
    plan: plan ? rowMapper(plans)(plan) : null,
    approvals: approvalRows.map(rowMapper(approvals)),
    locks: lockRows.map(rowMapper(locks)),
  };
}

/** A run's audit trail, oldest first. */
export async function transitionRows(db: Db, runId: string) {
  return db
    .select()
    .from(runTransitions)
    .where(eq(runTransitions.runId, runId))
    .orderBy(asc(runTransitions.id));
}

/**
 * `status in (…)` with the statuses written out, not as parameters: a prepared
 * statement's generic plan can then use an index whose predicate is a status
 * group (runs_failed_seq). Null when the list is every status (no condition).
 */
function statusCondition(statuses: readonly RunStatus[]): SQL | null {
  const wanted = new Set(statuses);
  if (RUN_STATUSES.every((s) => wanted.has(s))) return null;
  for (const s of wanted)
    if (!RUN_STATUSES.includes(s)) throw new TypeError(`not a run status: ${JSON.stringify(s)}`);
  return sql`${runs.status} in (${sql.raw([...wanted].map((s) => `'${s}'`).join(', '))})`;
}

/**
 * A list's statement: `columns` of the page's runs, newest first. With
 * several statuses no index has the rows in seq order, so the planner read
 * every match (a deployment's year of failed runs) and sorted it: there the
 * page's seqs come from an index alone (in order for a status group with an
 * index of its own, else a sort of seqs only), then only the page's rows.
 */
function pageStatement(filter: RunFilter, columns: (run: SQL) => SQL): SQL {
  const conditions = [];
  if (filter.deployment) conditions.push(eq(runs.deployment, filter.deployment));
  if (filter.environment) conditions.push(eq(runs.environment, filter.environment));
  const status = filter.statuses?.length ? statusCondition(filter.statuses) : null;
  if (status) conditions.push(status);
  if (filter.before)
    conditions.push(sql`${runs.seq} < (select seq from runs where id = ${filter.before})`);
  if (filter.requestedBy) conditions.push(eq(runs.requestedBy, filter.requestedBy));
  const where = conditions.length ? sql`where ${and(...conditions)}` : sql``;
  const limit = Math.min(Math.max(filter.limit ?? 50, 1), 5000);
  if (status === null || (filter.statuses?.length ?? 0) < 2)
    return sql`select ${columns(sql`${runs}`)} from ${runs} ${where} order by ${runs.seq} desc limit ${limit}`;
  return sql`select ${columns(sql`r`)}
    from (select ${runs.seq} from ${runs} ${where} order by ${runs.seq} desc limit ${limit}) page
    join ${runs} r on r.seq = page.seq order by r.seq desc`;
}

/** A page of runs (no plans or approvals), newest first. */
export async function listRunRows(db: Db, filter: RunFilter): Promise<RunRow[]> {
  const raw = await db.execute<Record<string, unknown>>(
    pageStatement(filter, (run) => sql`${run}.*`),
  );
  return raw.map(runRowFrom);
}

/** A page of runs, each with its current plan and that plan's approvals. */
export type RunPage = {
  readonly rows: RunRow[];
  readonly plans: PlanRow[];
  readonly approvals: ApprovalRow[];
};

/**
 * A page of runs, newest first, with each one's current plan and that plan's
 * approvals in the same statement: a list is one round trip (its locks are
 * read beside it). The plan and approvals are looked up for the page's rows
 * only, after the limit, one lookup per row: for a short page.
 */
export async function listRunPage(db: Db, filter: RunFilter): Promise<RunPage> {
  const raw = await db.execute<Record<string, unknown>>(
    pageStatement(
      filter,
      (run) => sql`${run}.*,
        (select row_to_json(p) from plans p where p.id = ${run}.plan_id) as "__plan",
        (select coalesce(json_agg(a), '[]'::json) from approvals a
          where a.run_id = ${run}.id and a.plan_id = ${run}.plan_id) as "__approvals"`,
    ),
  );
  const json = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
  const toPlan = rowMapper(plans);
  const toApproval = rowMapper(approvals);
  const page: { rows: RunRow[]; plans: PlanRow[]; approvals: ApprovalRow[] } = {
    rows: [],
    plans: [],
    approvals: [],
  };
  for (const r of raw) {
    const plan = json(r.__plan) as Record<string, unknown> | null;
    page.rows.push(runRowFrom(r));
    if (plan) page.plans.push(toPlan(plan));
    for (const a of json(r.__approvals) as Record<string, unknown>[])
      page.approvals.push(toApproval(a));
  }
  return page;
}

/** The runs changed since a moment (their newest state), oldest change first. */
export async function runsChangedSince(db: Db, since: Date, limit: number) {
  return db
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
}
