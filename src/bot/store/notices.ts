// Queries over slack_notices: who was told that a run waits for a person, once
// per step. Sending is claimed with a compare-and-set on sent_at, so two
// processes never send the same notice; a failed send gives the claim back.

import { and, eq, isNull, sql } from '../../db/orm.ts';
import { returningRows, selectRows } from '../../db/rows.ts';
import type { BotDb } from './database.ts';
import { slackNotices } from './schema.ts';

export type NoticeRow = typeof slackNotices.$inferSelect;
export type NoticeKey = { readonly runId: string; readonly step: string; readonly target: string };

const byKey = (k: NoticeKey) =>
  and(
    eq(slackNotices.runId, k.runId),
    eq(slackNotices.step, k.step),
    eq(slackNotices.target, k.target),
  );

/** Records the notices of a step (once: existing ones are kept as they are). */
export async function ensureNotices(
  db: BotDb,
  runId: string,
  step: string,
  targets: readonly string[],
): Promise<void> {
  if (targets.length === 0) return;
  await db
    .insert(slackNotices)
    .values(targets.map((target) => ({ runId, step, target })))
    .onConflictDoNothing();
}

export function noticesOf(db: BotDb, runId: string): Promise<NoticeRow[]> {
  return selectRows(db, slackNotices, eq(slackNotices.runId, runId));
}

/** Takes the right to send a notice; null when it was sent (or is being sent) by anyone. */
export async function claimSend(db: BotDb, key: NoticeKey): Promise<NoticeRow | null> {
  const [row] = await returningRows(
    db,
    slackNotices,
    db
      .update(slackNotices)
      .set({ sentAt: sql`now()` })
      .where(and(byKey(key), isNull(slackNotices.sentAt))),
  );
  return row ?? null;
}

export async function storeSent(
  db: BotDb,
  key: NoticeKey,
  patch: { channel: string; ts: string; remindAt: Date | null },
): Promise<void> {
  await db
    .update(slackNotices)
    .set({ ...patch, lastError: null })
    .where(byKey(key));
}

/** Sending failed: another attempt (here or in another process) may send it. */
export async function releaseSend(db: BotDb, key: NoticeKey, error: string): Promise<void> {
  await db
    .update(slackNotices)
    .set({ sentAt: null, lastError: error.slice(0, 2000) })
    .where(byKey(key));
}

/** Sending failed for good (a person the bot cannot write to): not tried again. */
export async function giveUpNotice(db: BotDb, key: NoticeKey, error: string): Promise<void> {
  await db
    .update(slackNotices)
    .set({ closed: true, lastError: error.slice(0, 2000) })
    .where(byKey(key));
}

/** Takes the right to remind, once, when it is time. */
export async function claimRemind(db: BotDb, key: NoticeKey): Promise<boolean> {
  const rows = await db
    .update(slackNotices)
    .set({ remindedAt: sql`now()` })
    .where(
      and(
        byKey(key),
        isNull(slackNotices.remindedAt),
        sql`${slackNotices.remindAt} <= now()`,
        eq(slackNotices.closed, false),
      ),
    )
    .returning({ runId: slackNotices.runId });
  return rows.length > 0;
}

/** Marks a notice done with (its DM shows the decision, or its step is over). */
export async function closeNotice(db: BotDb, key: NoticeKey): Promise<boolean> {
  const rows = await db
    .update(slackNotices)
    .set({ closed: true })
    .where(and(byKey(key), eq(slackNotices.closed, false)))
    .returning({ runId: slackNotices.runId });
  return rows.length > 0;
}

/** Whether `ts` in `channel` is a notice of the run (a DM whose buttons act like the message's). */
export async function isNoticeMessage(
  db: BotDb,
  runId: string,
  channel: string,
  ts: string,
): Promise<boolean> {
  const rows = await selectRows(
    db,
    slackNotices,
    and(eq(slackNotices.runId, runId), eq(slackNotices.channel, channel), eq(slackNotices.ts, ts)),
  );
  return rows.length > 0;
}

/** Runs with a notice to remind now, or one left unsent (a failed attempt, a process that stopped). */
export async function dueNoticeRuns(db: BotDb, limit = 100): Promise<string[]> {
  const rows = await db.execute<{ run_id: string }>(sql`
    select distinct run_id from slack_notices
    where closed = false
      and ((remind_at <= now() and reminded_at is null)
        or (sent_at is null and (last_error is not null or created_at < now() - interval '5 seconds')))
    limit ${limit}`);
  return rows.map((r) => r.run_id);
}
