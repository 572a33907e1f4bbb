// Reading a run's log lines (the writer is src/core/logs/writer.ts).

import type { LogLine } from '../api/types.ts';
import type { Db } from './database.ts';
import { and, eq, gt, sql } from './orm.ts';
import { selectRows } from './rows.ts';
import { runLogs } from './schema.ts';

export type LogRange = {
  /** Lines after this id, oldest first (following). */
  readonly afterId?: number | undefined;
  /** Lines before this id (paging back), returned oldest first. */
  readonly beforeId?: number | undefined;
  /** The last `tail` lines, oldest first. */
  readonly tail?: number | undefined;
  readonly limit?: number | undefined;
};

export async function readLogLines(db: Db, runId: string, range: LogRange): Promise<LogLine[]> {
  const limit = Math.min(range.limit ?? range.tail ?? 1000, 10_000);
  const conditions = [eq(runLogs.runId, runId)];
  if (range.afterId !== undefined) conditions.push(gt(runLogs.id, range.afterId));
  if (range.beforeId !== undefined) conditions.push(sql`${runLogs.id} < ${range.beforeId}`);
  const newestFirst = range.tail !== undefined || range.beforeId !== undefined;
  const rows = await selectRows(
    db,
    runLogs,
    and(...conditions),
    newestFirst ? sql`order by id desc limit ${limit}` : sql`order by id asc limit ${limit}`,
  );
  if (newestFirst) rows.reverse();
  return rows.map((r) => ({
    id: r.id,
    runId: r.runId,
    phase: r.phase,
    stream: r.stream as LogLine['stream'],
    line: r.line,
    at: r.createdAt.toISOString(),
  }));
}

/** How many lines the run has (after `afterId`, when given). */
export async function countLogLines(db: Db, runId: string, afterId?: number): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(runLogs)
    .where(
      and(eq(runLogs.runId, runId), afterId !== undefined ? gt(runLogs.id, afterId) : undefined),
    );
  return row?.n ?? 0;
}
