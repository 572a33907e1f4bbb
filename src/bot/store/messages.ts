// Queries over the outbox table (slack_messages) and the request ledger
// (slack_requests). Every write that matters for "never twice" is a
// compare-and-set in the WHERE clause.

import { and, eq, inArray, isNull, lt, or, sql } from '../../db/orm.ts';
import { returningRows, selectRows } from '../../db/rows.ts';
import type { BotDb } from './database.ts';
import { slackMessages, slackRequests } from './schema.ts';

export type MessageRow = typeof slackMessages.$inferSelect;
export type MessagePatch = Partial<
  Omit<typeof slackMessages.$inferInsert, 'runId' | 'channel' | 'createdAt'>
>;

export async function createMessageRow(
  db: BotDb,
  input: { runId: string; channel: string; requestedBy: string; responseUrl: string | null },
): Promise<void> {
  await db.insert(slackMessages).values(input).onConflictDoNothing();
}

/** The channel of each of these runs' messages (runs without one are left out). */
export async function messageChannels(
  db: BotDb,
  runIds: readonly string[],
): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const rows = await selectRows(db, slackMessages, inArray(slackMessages.runId, [...runIds]));
  return new Map(rows.map((r) => [r.runId, r.channel]));
}

export async function getMessageRow(db: BotDb, runId: string): Promise<MessageRow | null> {
  const [row] = await selectRows(db, slackMessages, eq(slackMessages.runId, runId));
  return row ?? null;
}

/**
 * Takes the delivery lease of a run's message that is not settled; null when
 * there is no such row or another process holds the lease.
 */
export async function claimLease(
  db: BotDb,
  runId: string,
  owner: string,
  leaseMs: number,
): Promise<MessageRow | null> {
  const [row] = await returningRows(
    db,
    slackMessages,
    db
      .update(slackMessages)
      .set({
        leaseOwner: owner,
        leaseUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
      })
      .where(
        and(
          eq(slackMessages.runId, runId),
          eq(slackMessages.settled, false),
          or(isNull(slackMessages.leaseUntil), lt(slackMessages.leaseUntil, sql`now()`)),
        ),
      ),
  );
  return row ?? null;
}

export async function releaseLease(db: BotDb, runId: string, owner: string): Promise<void> {
  await db
    .update(slackMessages)
    .set({ leaseOwner: null, leaseUntil: null })
    .where(and(eq(slackMessages.runId, runId), eq(slackMessages.leaseOwner, owner)));
}

/** Updates the row while this process holds its lease; null when the lease was lost. */
export async function updateLeased(
  db: BotDb,
  runId: string,
  owner: string,
  patch: MessagePatch,
): Promise<MessageRow | null> {
  const [row] = await returningRows(
    db,
    slackMessages,
    db
      .update(slackMessages)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(and(eq(slackMessages.runId, runId), eq(slackMessages.leaseOwner, owner))),
  );
  return row ?? null;
}

/** Records the first post's ts, only if no ts is stored yet (the first post wins). */
export async function storeFirstTs(
  db: BotDb,
  runId: string,
  owner: string,
  ts: string,
  patch: MessagePatch,
): Promise<MessageRow | null> {
  const [row] = await returningRows(
    db,
    slackMessages,
    db
      .update(slackMessages)
      .set({ ...patch, ts, updatedAt: sql`now()` })
      .where(
        and(
          eq(slackMessages.runId, runId),
          eq(slackMessages.leaseOwner, owner),
          isNull(slackMessages.ts),
        ),
      ),
  );
  return row ?? null;
}

/** The message shows something older than the truth: render it again at the next delivery. */
export async function markStale(db: BotDb, runId: string): Promise<boolean> {
  const rows = await db
    .update(slackMessages)
    .set({ deliveredVersion: 0, settled: false, updatedAt: sql`now()` })
    .where(eq(slackMessages.runId, runId))
    .returning({ runId: slackMessages.runId });
  return rows.length > 0;
}

/** Runs whose message (or thread) is behind and may be delivered now. */
export async function dueRuns(db: BotDb, limit = 200): Promise<string[]> {
  const rows = await db.execute<{ run_id: string }>(sql`
    select sm.run_id
    from slack_messages sm join runs r on r.id = sm.run_id
    where sm.settled = false
      and (sm.next_attempt_at is null or sm.next_attempt_at <= now())
      and (sm.lease_until is null or sm.lease_until < now())
      and (
        sm.ts is null
        or sm.delivered_version < r.version
        or sm.delivered_status is distinct from r.status
        or (r.plan_id is not null and (sm.plan_thread_id is distinct from r.plan_id or not sm.plan_thread_done))
        or r.status in ('applying', 'destroying', 'verifying', 'rolling_back')
        or r.status in ('completed', 'destroyed', 'no_changes', 'failed', 'cancelled', 'rolled_back', 'rollback_failed')
      )
    order by sm.updated_at
    limit ${limit}`);
  return rows.map((r) => r.run_id);
}

// ---------------------------------------------------------------------------
// The request ledger

/** True the first time `key` is seen; false for a retry or duplicate delivery. */
export async function recordRequest(
  db: BotDb,
  key: string,
  kind: string,
  runId: string | null = null,
): Promise<boolean> {
  const rows = await db
    .insert(slackRequests)
    .values({ key, kind, runId })
    .onConflictDoNothing()
    .returning({ key: slackRequests.key });
  return rows.length > 0;
}

export async function setRequestRun(db: BotDb, key: string, runId: string): Promise<void> {
  await db.update(slackRequests).set({ runId }).where(eq(slackRequests.key, key));
}

/** Forgets a request that failed before it did anything, so a retry may act. */
export async function forgetRequest(db: BotDb, key: string): Promise<void> {
  await db.delete(slackRequests).where(eq(slackRequests.key, key));
}

export async function pruneRequests(db: BotDb, olderThanHours = 24): Promise<void> {
  await db
    .delete(slackRequests)
    .where(lt(slackRequests.createdAt, sql`now() - ${`${olderThanHours} hours`}::interval`));
}
