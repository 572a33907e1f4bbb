// One run at a time per deployment: the slot, the queue behind it, and the
// superseding policy (plans made before a change started are stale). Here the
// policy says which runs move and why; `transition` (transition.ts) moves them.

import type { RunView } from '../api/types.ts';
import { AWAITING_APPROVAL_STATUSES, SLOT_STATUSES } from '../lifecycle/statuses.ts';
import { SYSTEM_ACTOR } from '../text/plan.ts';
import type { Db, Tx } from './database.ts';
import { and, asc, eq, inArray, sql } from './orm.ts';
import { selectRows } from './rows.ts';
import type { RunRow } from './runs.ts';
import { runs } from './schema.ts';

const SLOT_LOCK_PREFIX = 'deploy-bot:slot:';
const SLOT_STATUS_LIST = sql.raw(SLOT_STATUSES.map((status) => `'${status}'`).join(', '));

/** The slot lock of the deployment of a row named `updated` (taken with a transition that frees it). */
export const slotLockOfUpdatedSql = sql`pg_advisory_xact_lock(hashtext(${SLOT_LOCK_PREFIX} || updated.deployment))`;

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

/**
 * The move that starts the oldest queued run of the deployment, only while
 * nothing holds its slot (one query; the caller holds the slot lock).
 */
export async function promotion(tx: Tx, deployment: string) {
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
  return {
    runId: next.id,
    kind: next.kind,
    from: 'queued',
    to: 'pending',
    actor: SYSTEM_ACTOR,
    reason: 'the deployment is free: starting',
  } as const;
}

/** Plans made before another run's change are stale: the moves cancelling the runs waiting on them. */
export async function supersededBy(tx: Tx, applying: RunRow) {
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
  return waiting.map(
    (run) =>
      ({
        runId: run.id,
        kind: run.kind,
        from: run.status,
        to: 'cancelled',
        actor: SYSTEM_ACTOR,
        reason: `superseded: ${applying.id} started to ${applying.kind === 'destroy' ? 'destroy' : 'apply'} ${applying.deployment} after this plan was made, so the plan is stale`,
        patch: { cancelledBy: SYSTEM_ACTOR.id, cancelReason: `superseded by ${applying.id}` },
      }) as const,
  );
}

/** Where a queued run stands: the run holding the slot, and its place in the queue. */
export async function queuePosition(db: Db | Tx, row: RunRow): Promise<RunView['queue']> {
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
