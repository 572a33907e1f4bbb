// Which worker executes which run. A worker claims a run in a working status
// before running its step and keeps a heartbeat; a run whose worker went quiet
// is recovered by the reaper in any other worker process.

import {
  AWAITING_APPROVAL_STATUSES,
  type RunKind,
  type RunStatus,
  WORKING_STATUSES,
} from '../lifecycle/statuses.ts';
import type { Queue } from '../queue/boss.ts';
import { SYSTEM_ACTOR } from '../text/plan.ts';
import type { Db, Tx } from './database.ts';
import { and, eq, inArray, isNull, lt, sql } from './orm.ts';
import { type RunRow, runRowFrom } from './runs.ts';
import { runs } from './schema.ts';
import { moveRun } from './transition.ts';

/**
 * Takes the run for this worker, or null when it moved on or another worker
 * has it. A pending run is taken and moved to initializing in one statement.
 */
export async function claimRun(
  db: Db,
  queue: Queue,
  job: { readonly runId: string; readonly status: RunStatus; readonly kind?: RunKind | undefined },
  workerId: string,
): Promise<RunRow | null> {
  const { runId, status, kind } = job;
  if (status === 'pending' && kind !== undefined) {
    const outcome = await moveRun(db, queue, {
      runId,
      kind,
      from: 'pending',
      to: 'initializing',
      actor: SYSTEM_ACTOR,
      reason: 'preparing the workspace',
      claimFor: workerId,
    });
    return outcome.ok ? outcome.run : null;
  }
  const update = db
    .update(runs)
    .set({
      workerId,
      heartbeatAt: sql`now()`,
      stepAttempt: sql`${runs.stepAttempt} + 1`,
      updatedAt: sql`now()`,
    })
    .where(and(eq(runs.id, runId), eq(runs.status, status), isNull(runs.workerId)));
  const [raw] = await db.execute<Record<string, unknown>>(sql`${update.getSQL()} returning *`);
  return raw ? runRowFrom(raw) : null;
}

/** Stores the running step's process id; false when the worker no longer owns the run. */
export async function recordStepPid(
  db: Db,
  runId: string,
  workerId: string,
  pid: number | null,
): Promise<boolean> {
  const rows = await db
    .update(runs)
    .set({ stepPid: pid })
    .where(and(eq(runs.id, runId), eq(runs.workerId, workerId)))
    .returning({ id: runs.id });
  return rows.length > 0;
}

/**
 * Refreshes the heartbeat of the runs this worker executes and returns the ids
 * it no longer owns (cancelled, or taken over), so their steps can be stopped.
 */
export async function heartbeat(
  db: Db,
  workerId: string,
  runIds: readonly string[],
): Promise<string[]> {
  if (runIds.length === 0) return [];
  const owned = await db
    .update(runs)
    .set({ heartbeatAt: sql`now()` })
    .where(and(inArray(runs.id, [...runIds]), eq(runs.workerId, workerId)))
    .returning({ id: runs.id });
  const still = new Set(owned.map((r) => r.id));
  return runIds.filter((id) => !still.has(id));
}

/** Releases a claim without changing the status, so the step can run again. */
export async function releaseClaim(db: Db | Tx, runId: string, workerId: string) {
  await db
    .update(runs)
    .set({ workerId: null, heartbeatAt: null, stepPid: null })
    .where(and(eq(runs.id, runId), eq(runs.workerId, workerId)));
}

/**
 * Runs in a working status whose worker stopped sending heartbeats. Locked for
 * the caller's transaction; other reapers skip them. Nothing is reaped right
 * after a database restart, before live workers had a chance to beat again.
 */
export async function lockOrphans(tx: Tx, staleMs: number): Promise<RunRow[]> {
  const staleInterval = sql.raw(`interval '${Math.ceil(staleMs)} milliseconds'`);
  return tx
    .select()
    .from(runs)
    .where(
      and(
        inArray(runs.status, [...WORKING_STATUSES]),
        sql`${runs.workerId} is not null`,
        lt(runs.heartbeatAt, sql`now() - ${staleInterval}`),
        sql`pg_postmaster_start_time() < now() - ${staleInterval}`,
        // A worker whose sessions are still connected is slow, not dead (a busy
        // machine can delay heartbeats); a killed process's sessions end at once.
        // After ten stale windows a connected but silent worker is taken for hung.
        sql`(not exists (
              select 1 from pg_stat_activity
              where application_name like '%' || split_part(${runs.workerId}, '#', 1))
            or ${runs.heartbeatAt} < now() - ${staleInterval} * 10)`,
      ),
    )
    .limit(100)
    .for('update', { skipLocked: true });
}

/** The run has waited in its status longer than its deployment's approvalTimeout (the database's clock). */
const approvalDeadlinePassed = sql`${runs.statusSince} + ((${runs.config}->>'approvalTimeout')::bigint * interval '1 millisecond') < now()`;

/**
 * Whether a run waiting for an approval is past its deadline, by the same rule
 * as the sweep: approve and apply ask this in the transaction that decides.
 */
export async function approvalDeadlineIsPast(tx: Tx, runId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: runs.id })
    .from(runs)
    .where(
      and(
        eq(runs.id, runId),
        inArray(runs.status, [...AWAITING_APPROVAL_STATUSES]),
        approvalDeadlinePassed,
      ),
    );
  return rows.length > 0;
}

/**
 * Runs that waited for an approval longer than their deployment's
 * approvalTimeout (from the run's config snapshot). Locked for the caller;
 * other workers skip them.
 */
export async function lockExpiredApprovals(tx: Tx): Promise<RunRow[]> {
  return tx
    .select()
    .from(runs)
    .where(and(inArray(runs.status, [...AWAITING_APPROVAL_STATUSES]), approvalDeadlinePassed))
    .limit(100)
    .for('update', { skipLocked: true });
}
