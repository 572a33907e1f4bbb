// Following across processes: a run's log, every run's changes, token
// revocations. Woken by NOTIFY (store/run-notifications.ts), never by polling;
// a reconnect catches up or tells the follower to resync.

import { TOKEN_REVOKED_CHANNEL } from '../auth/tokens.ts';
import { errorMessage } from '../errors.ts';
import type { Connection } from '../store/database.ts';
import { countLogLines, readLogLines } from '../store/logs.ts';
import {
  type ChangedRun,
  LOG_CHANNEL,
  loggedRunId,
  parseRunChanged,
  RUN_CHANNEL,
} from '../store/run-notifications.ts';
import type { LogLine, RunView, Unsubscribe } from './types.ts';

/** A run changed: its id, version, status and deployment (what NOTIFY says). */
export type RunChange = ChangedRun & {
  /**
   * Over the API with `GET /api/v1/events/runs?with=run`: the run as the server
   * read it just after this change, so that a follower needs no request of its own.
   */
  readonly run?: RunView;
};

export type FollowLogsOptions = {
  afterId?: number;
  /**
   * A follower that shows only the end (a terminal window) sets this: when
   * more lines are waiting, it gets only the newest `keepNewest` of them and
   * the number it skipped, instead of paging through all of them.
   */
  keepNewest?: number;
};

/**
 * Follows a run's log from `afterId` (0: the beginning), across processes:
 * woken by NOTIFY, never by polling. Lines arrive in order, each once.
 */
export async function followLogs(
  connection: Connection,
  runId: string,
  onLines: (lines: LogLine[], skipped: number) => void,
  options: FollowLogsOptions,
  log: (line: string) => void,
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
            const newest = (await readLogLines(connection.db, runId, { tail: keep })).filter(
              (l) => l.id > cursor,
            );
            if (newest.length === 0) break;
            let skipped = 0;
            if (newest.length === keep) {
              const waiting = await countLogLines(connection.db, runId, cursor);
              skipped = Math.max(0, waiting - newest.length);
            }
            cursor = newest[newest.length - 1]!.id;
            onLines(newest, skipped);
            break;
          }
          const lines = await readLogLines(connection.db, runId, { afterId: cursor, limit: 5000 });
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
      log(
        `following the log of ${runId} failed, resuming with the next line: ${errorMessage(error)}`,
      ),
    );
  const listener = await connection.sql.listen(
    LOG_CHANNEL,
    (payload) => {
      if (loggedRunId(payload) === runId) pumpReporting();
    },
    // Runs on every (re)connect: catch up on what was written meanwhile.
    pumpReporting,
  );
  return async () => {
    closed = true;
    await listener.unlisten();
  };
}

/**
 * Token revocations by any process (the ids); `onResync` fires after a
 * reconnect, when some may have been missed.
 */
export async function subscribeTokenRevocations(
  connection: Connection,
  onRevoked: (ids: readonly string[]) => void,
  onResync: () => void,
): Promise<Unsubscribe> {
  let first = true;
  const listener = await connection.sql.listen(
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
export async function subscribeRuns(
  connection: Connection,
  onChange: (change: RunChange) => void,
  onResync?: () => void,
): Promise<Unsubscribe> {
  let first = true;
  const listener = await connection.sql.listen(
    RUN_CHANNEL,
    (payload) => {
      const change = parseRunChanged(payload);
      if (change) onChange(change);
    },
    () => {
      if (!first) onResync?.();
      first = false;
    },
  );
  return () => listener.unlisten();
}
