// Queries over slack_homes: who opened the Home tab, and whose Home is due to
// be published again. A publish is claimed with a compare-and-set that also
// keeps one person's publishes `gapMs` apart, across processes.

import { eq, sql } from '../../db/orm.ts';
import { returningRows, selectRows } from '../../db/rows.ts';
import type { BotDb } from './database.ts';
import { slackHomes } from './schema.ts';

export type HomeRow = typeof slackHomes.$inferSelect;

export async function homeOpened(db: BotDb, userId: string): Promise<void> {
  await db
    .insert(slackHomes)
    .values({ userId })
    .onConflictDoUpdate({ target: slackHomes.userId, set: { openedAt: sql`now()`, due: true } });
}

/** Marks the Homes opened within `recentMs` due; returns them. */
export async function markHomesDue(db: BotDb, recentMs: number): Promise<HomeRow[]> {
  return returningRows(
    db,
    slackHomes,
    db
      .update(slackHomes)
      .set({ due: true })
      .where(sql`${slackHomes.openedAt} > now() - ${`${recentMs} milliseconds`}::interval`),
  );
}

/** Takes the right to publish `userId`'s Home now; null when not due or published within the gap. */
export async function claimPublish(
  db: BotDb,
  userId: string,
  gapMs: number,
): Promise<HomeRow | null> {
  const [row] = await returningRows(
    db,
    slackHomes,
    db
      .update(slackHomes)
      .set({ due: false, publishedAt: sql`now()` })
      .where(
        sql`${slackHomes.userId} = ${userId} and ${slackHomes.due} and (${slackHomes.publishedAt} is null or ${slackHomes.publishedAt} <= now() - ${`${gapMs} milliseconds`}::interval)`,
      ),
  );
  return row ?? null;
}

export async function homeOf(db: BotDb, userId: string): Promise<HomeRow | null> {
  const [row] = await selectRows(db, slackHomes, eq(slackHomes.userId, userId));
  return row ?? null;
}

/** Publishing failed: due again, to be tried later. */
export async function publishFailed(db: BotDb, userId: string, error: string): Promise<void> {
  await db
    .update(slackHomes)
    .set({ due: true, lastError: error.slice(0, 2000) })
    .where(eq(slackHomes.userId, userId));
}
