// Ad hoc locks in PostgreSQL: one in force per target (a partial unique index),
// an unlock keeps the row as the record of who locked and who unlocked. Taking
// or lifting a lock bumps the runs it holds, so every front end redraws them.

import type { Actor, LockTarget, LockView } from '../api/types.ts';
import { newId } from '../engine/ids.ts';
import { TERMINAL_STATUSES } from '../lifecycle/statuses.ts';
import type { Db, Tx } from './database.ts';
import { and, eq, isNull, or, sql } from './orm.ts';
import { returningRows, selectRows } from './rows.ts';
import { RUN_CHANNEL, runChangedPayloadSql } from './run-notifications.ts';
import { locks, runs } from './schema.ts';

export type LockRow = typeof locks.$inferSelect;

const ALL = '*';

export function lockView(row: LockRow): LockView {
  return {
    id: row.id,
    scope: row.scope,
    target: row.scope === 'all' ? null : row.target,
    reason: row.reason,
    by: row.lockedBy,
    via: row.lockedVia,
    at: row.createdAt.toISOString(),
  };
}

const inForce = isNull(locks.unlockedAt);
const targetIs = (target: LockTarget) =>
  and(eq(locks.scope, target.scope), eq(locks.target, target.target ?? ALL), inForce);

/** The lock in force on exactly this target, if any. */
export async function lockOn(db: Db | Tx, target: LockTarget): Promise<LockRow | null> {
  const [row] = await selectRows(db, locks, targetIs(target));
  return row ?? null;
}

/** Takes a lock; null when one is already in force on the target (the unique index says so). */
export async function insertLock(
  tx: Tx,
  target: LockTarget,
  reason: string,
  actor: Actor,
): Promise<LockRow | null> {
  const [row] = await returningRows(
    tx,
    locks,
    tx
      .insert(locks)
      .values({
        id: newId('lock'),
        scope: target.scope,
        target: target.target ?? ALL,
        reason,
        lockedBy: actor.id,
        lockedVia: actor.via,
      })
      .onConflictDoNothing({
        target: [locks.scope, locks.target],
        where: sql`${locks.unlockedAt} is null`,
      }),
  );
  return row ?? null;
}

/** Lifts the lock in force on the target; null when there is none. */
export async function liftLock(tx: Tx, target: LockTarget, actor: Actor): Promise<LockRow | null> {
  const [row] = await returningRows(
    tx,
    locks,
    tx
      .update(locks)
      .set({ unlockedBy: actor.id, unlockedVia: actor.via, unlockedAt: sql`now()` })
      .where(targetIs(target)),
  );
  return row ?? null;
}

/** Every lock in force, oldest first. */
export function locksInForce(db: Db | Tx): Promise<LockRow[]> {
  return selectRows(db, locks, inForce, sql`order by ${locks.createdAt}`);
}

/** The locks in force that hold a deployment (by name, by environment, or all). */
export function locksHolding(
  db: Db | Tx,
  deployment: string,
  environment: string,
): Promise<LockRow[]> {
  return selectRows(
    db,
    locks,
    and(
      inForce,
      or(
        and(eq(locks.scope, 'deployment'), eq(locks.target, deployment)),
        and(eq(locks.scope, 'environment'), eq(locks.target, environment)),
        eq(locks.scope, 'all'),
      ),
    ),
    sql`order by ${locks.createdAt}`,
  );
}

/** Whether a lock row holds a run of this deployment and environment. */
export function holds(
  row: Pick<LockRow, 'scope' | 'target'>,
  run: { readonly deployment: string; readonly environment: string },
): boolean {
  return (
    row.scope === 'all' ||
    (row.scope === 'deployment' && row.target === run.deployment) ||
    (row.scope === 'environment' && row.target === run.environment)
  );
}

const FINISHED = sql.raw(TERMINAL_STATUSES.map((s) => `'${s}'`).join(', '));

/**
 * Bumps the unfinished runs a lock taken or lifted covers (their views change),
 * with NOTIFY: the Slack messages, deploy-tui and followers redraw them.
 */
export async function touchHeldRuns(tx: Tx, target: LockTarget): Promise<void> {
  const which =
    target.scope === 'all'
      ? sql`true`
      : target.scope === 'deployment'
        ? eq(runs.deployment, target.target ?? '')
        : eq(runs.environment, target.target ?? '');
  await tx.execute(sql`
    with updated as (
      update runs set version = version + 1, updated_at = now()
      where ${which} and status not in (${FINISHED})
      returning id, version, status, deployment
    )
    select pg_notify(${RUN_CHANNEL}, ${runChangedPayloadSql}) from updated`);
}
