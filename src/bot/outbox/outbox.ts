// The outbox: Slack delivery of run messages through the job queue, with all
// state in Postgres so any number of bot processes share the work.
//
// A job on the `slack-sync` queue means "bring run R's message up to date"
// ("short" policy with R as singleton key: at most one queued job per run, so a
// burst of changes coalesces into one delivery; a job left active by a process
// that died never blocks the next one). The job takes the row's lease (one
// delivery per run at a time, across processes), renders the run as it is now,
// posts or updates the message,
// fills the thread, and records what it delivered. A Slack outage, 5xx or 429
// stores when to try again (Retry-After, or backoff) and nothing is lost: a
// timer, the next change, or the periodic sweep brings every message to its
// true state once Slack answers again.
//
// Triggers: the run-change NOTIFY (core.subscribeRuns), the log NOTIFY (the
// latest lines of a working run), and a sweep every few seconds for rows that
// are behind (missed notifications, a process that died, the end of an outage).

import type { WebClient } from '@slack/web-api';
import type { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { DeployCore } from '../../core/api/core.ts';
import type { RunView, Unsubscribe } from '../../core/api/types.ts';
import { isRefusal } from '../../core/errors.ts';
import { isTerminal } from '../../core/lifecycle/statuses.ts';
import { LOG_CHANNEL } from '../../core/logs/writer.ts';
import type { Log } from '../log.ts';
import { renderRunMessage } from '../render/run-message.ts';
import { slackErrorText } from '../slack/client.ts';
import {
  claimLease,
  createMessageRow,
  dueRuns,
  getMessageRow,
  type MessageRow,
  markStale,
  pruneRequests,
  releaseLease,
  updateLeased,
} from '../store/messages.ts';
import {
  type DeliverDeps,
  deliverLogThread,
  deliverMessage,
  deliverPlanThread,
  FAILURE_STATUSES,
  LeaseLost,
  LOG_TAIL_STATUSES,
  SlackCallError,
} from './deliver.ts';

export const SYNC_QUEUE = 'slack-sync';

export type OutboxTuning = {
  /** Sweep for messages that are behind, every … ms (default 5000). */
  readonly sweepMs: number;
  /** At most one post/update of a message per … ms when the run changes (default 1000). */
  readonly minUpdateGapMs: number;
  /** Refresh of the latest log lines alone, at most every … ms (default 1500: 40 per minute, inside chat.update's tier). */
  readonly logRefreshMs: number;
  /** How long a delivery may hold a message before another process may take it over (default 30 s). */
  readonly leaseMs: number;
  /** Deliveries at once in this process (default 4). */
  readonly concurrency: number;
  /** Longest wait between attempts while Slack is down (default 10 s). */
  readonly maxBackoffMs: number;
  /** Wait after an error a person has to fix (not in the channel, a bad token; default 60 s). */
  readonly slowRetryMs: number;
  /** Log lines shown in the message of a working or failed run (default 12). */
  readonly logTailLines: number;
  /** More thread chunks than this become one file (default 4). */
  readonly threadChunkLimit: number;
};

export const DEFAULT_TUNING: OutboxTuning = {
  sweepMs: 5000,
  minUpdateGapMs: 1000,
  logRefreshMs: 1500,
  leaseMs: 30_000,
  concurrency: 4,
  maxBackoffMs: 10_000,
  slowRetryMs: 60_000,
  logTailLines: 12,
  threadChunkLimit: 4,
};

export type OutboxOptions = {
  readonly core: DeployCore;
  readonly client: WebClient;
  readonly log: Log;
  /** This process's name in leases. */
  readonly owner: string;
  readonly tuning?: Partial<OutboxTuning>;
};

export type SyncOutcome =
  | 'none'
  | 'settled'
  | 'deferred'
  | 'busy'
  | 'delivered'
  | 'up_to_date'
  | 'retry_scheduled'
  | 'gave_up';

export type Outbox = {
  start(): Promise<void>;
  /** Starts tracking a run requested from Slack: its message goes to `channel`. */
  track(input: {
    runId: string;
    channel: string;
    requestedBy: string;
    responseUrl: string | null;
  }): Promise<void>;
  /** Bring the run's message up to date soon (coalesced). */
  poke(runId: string): void;
  /** The message shows something older than the truth: render it again now. */
  redeliver(runId: string): Promise<void>;
  /** One sweep pass now; returns how many runs were enqueued. */
  sweep(): Promise<number>;
  /** Delivers one run now in this process (tests, and the job handler). */
  syncRun(runId: string): Promise<SyncOutcome>;
  stop(): Promise<void>;
};

const jobData = z.object({ runId: z.string().min(1) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createOutbox(options: OutboxOptions): Outbox {
  const tuning: OutboxTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const { core, client, owner } = options;
  const log = options.log.child({ component: 'outbox' });
  const boss: PgBoss = core.queue.boss;
  const deps: DeliverDeps = {
    core,
    client,
    log,
    owner,
    threadChunkLimit: tuning.threadChunkLimit,
  };

  let stopped = false;
  let workId: string | null = null;
  let unsubscribeRuns: Unsubscribe | null = null;
  let unlistenLogs: (() => Promise<void>) | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  const wakeTimers = new Map<string, NodeJS.Timeout>();
  const pending = new Set<string>();
  const delivering = new Set<string>();
  const lastLogPoke = new Map<string, number>();
  /** Slack said 429: nothing is sent from this process before this time. */
  let pausedUntil = 0;

  const enqueue = async (runId: string) => {
    if (stopped) return;
    try {
      await boss.send(SYNC_QUEUE, { runId }, { singletonKey: runId });
    } catch (error) {
      // The database is unavailable: the sweep catches up when it is back.
      log.warn('could not enqueue a Slack delivery', { runId, error });
    }
  };

  const poke = (runId: string) => {
    if (stopped || pending.has(runId)) return;
    pending.add(runId);
    setImmediate(() => {
      pending.delete(runId);
      void enqueue(runId);
    });
  };

  const wakeAt = (runId: string, at: number) => {
    if (stopped) return;
    const existing = wakeTimers.get(runId);
    if (existing) clearTimeout(existing);
    const timer = setTimeout(
      () => {
        wakeTimers.delete(runId);
        poke(runId);
      },
      Math.max(0, at - Date.now()) + 20,
    );
    timer.unref();
    wakeTimers.set(runId, timer);
  };

  const backoffMs = (attempts: number) =>
    Math.min(tuning.maxBackoffMs, 500 * 2 ** Math.min(attempts, 10));

  /** Tells the requester once that their run's message cannot be posted where they asked. */
  const tellRequester = async (row: MessageRow, text: string) => {
    if (row.responseUrl === null) return;
    if (Date.now() - row.createdAt.getTime() > 29 * 60_000) return;
    try {
      await fetch(row.responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text }),
        signal: AbortSignal.timeout(5000),
      });
    } catch (error) {
      log.warn('could not tell the requester', { runId: row.runId, error });
    }
  };

  const onSlackFailure = async (row: MessageRow, run: RunView, error: SlackCallError) => {
    const failure = error.failure;
    const attempts = row.attempts + 1;
    let delay: number;
    let giveUp = false;
    switch (failure.kind) {
      case 'rate_limited':
        delay = failure.retryAfterSeconds * 1000;
        pausedUntil = Math.max(pausedUntil, Date.now() + delay);
        break;
      case 'auth':
        delay = tuning.slowRetryMs;
        break;
      case 'channel':
        delay = tuning.slowRetryMs;
        // Nothing more will happen to a finished run: stop trying.
        giveUp = isTerminal(run.status);
        if (row.attempts === 0 && row.ts === null) {
          await tellRequester(
            row,
            `I could not post the message of run \`${run.id}\` in <#${row.channel}>: ${failure.error}. ` +
              'Invite the app to the channel (/invite @deploy-bot) and it will appear; the run itself goes on: ' +
              `\`/deploy status ${run.id}\` shows it.`,
          );
        }
        break;
      default:
        delay = backoffMs(row.attempts);
    }
    const text = slackErrorText(failure);
    const next = new Date(Date.now() + delay);
    await updateLeased(core.db, row.runId, owner, {
      attempts,
      lastError: `${error.method}: ${text}`.slice(0, 2000),
      nextAttemptAt: giveUp ? null : next,
      ...(giveUp ? { settled: true } : {}),
    });
    const fields = { runId: run.id, method: error.method, error: text, attempts };
    if (giveUp) {
      log.error('gave up delivering a run message', fields);
      return 'gave_up' as const;
    }
    log.warn('Slack delivery failed: will try again', { ...fields, retryInMs: delay });
    wakeAt(row.runId, next.getTime());
    return 'retry_scheduled' as const;
  };

  /** Whether the message needs a new rendering, and the newest log line it would show. */
  const latest = async (runId: string) => {
    const run = await core.getRun(runId);
    const showsLog = LOG_TAIL_STATUSES.has(run.status);
    const tail = showsLog ? await core.readLogs(runId, { tail: tuning.logTailLines }) : [];
    return { run, tail, logId: tail.length > 0 ? tail[tail.length - 1]!.id : 0 };
  };

  const deliverLeased = async (leased: MessageRow): Promise<SyncOutcome> => {
    let row = leased;
    let outcome: SyncOutcome = 'up_to_date';
    for (let round = 0; round < 6 && !stopped; round++) {
      const { run, tail, logId } = await latest(row.runId);
      const versionBehind =
        run.version > row.deliveredVersion || row.deliveredStatus !== run.status;
      const logBehind = logId > row.deliveredLogId;
      try {
        if (row.ts === null || versionBehind || logBehind) {
          if (row.ts !== null && row.lastUpdateAt !== null) {
            const gap = versionBehind ? tuning.minUpdateGapMs : tuning.logRefreshMs;
            const wait = row.lastUpdateAt.getTime() + gap - Date.now();
            if (wait > 0) {
              await sleep(wait);
              continue; // render what is true after the wait
            }
          }
          const message = renderRunMessage(run, {
            logTail: tail.map((l) => l.line),
            now: new Date(),
          });
          row = await deliverMessage(deps, row, run, message, logId);
          outcome = 'delivered';
        }
        row = await deliverPlanThread(deps, row, run);
        row = await deliverLogThread(deps, row, run);
      } catch (error) {
        if (error instanceof SlackCallError) return onSlackFailure(row, run, error);
        throw error;
      }
      const threadDone =
        (run.plan === null || (row.planThreadId === run.plan.id && row.planThreadDone)) &&
        (!FAILURE_STATUSES.has(run.status) || row.logThreadDone);
      if (isTerminal(run.status) && threadDone && row.deliveredVersion === run.version) {
        // A finished run changes no more: one last look that nothing arrived meanwhile.
        const again = await core.getRun(row.runId);
        if (again.version === row.deliveredVersion) {
          await updateLeased(core.db, row.runId, owner, { settled: true });
          return outcome;
        }
        continue;
      }
      const now = await latest(row.runId);
      const stillBehind = now.run.version > row.deliveredVersion || now.logId > row.deliveredLogId;
      if (!stillBehind) return outcome;
    }
    // Still changing after several rounds (a noisy apply): let the next job go on.
    poke(row.runId);
    return outcome;
  };

  const syncRun = async (runId: string): Promise<SyncOutcome> => {
    const row = await getMessageRow(core.db, runId);
    if (!row) return 'none';
    if (row.settled) return 'settled';
    const now = Date.now();
    if (row.nextAttemptAt !== null && row.nextAttemptAt.getTime() > now) {
      wakeAt(runId, row.nextAttemptAt.getTime());
      return 'deferred';
    }
    if (pausedUntil > now) {
      wakeAt(runId, pausedUntil);
      return 'deferred';
    }
    // One delivery per run at a time: in this process by this set, across
    // processes by the row's lease.
    if (delivering.has(runId)) {
      wakeAt(runId, Date.now() + 1000);
      return 'busy';
    }
    delivering.add(runId);
    try {
      return await syncLeased(runId);
    } finally {
      delivering.delete(runId);
    }
  };

  const syncLeased = async (runId: string): Promise<SyncOutcome> => {
    const leased = await claimLease(core.db, runId, owner, tuning.leaseMs);
    if (!leased) {
      // Another process is delivering; look again shortly in case it just finished.
      wakeAt(runId, Date.now() + 1000);
      return 'busy';
    }
    try {
      return await deliverLeased(leased);
    } catch (error) {
      if (error instanceof LeaseLost) {
        log.warn('lost a delivery lease', { runId, error: error.message });
        return 'busy';
      }
      if (isRefusal(error) && error.code === 'unknown_run') return 'none';
      throw error;
    } finally {
      await releaseLease(core.db, runId, owner).catch(() => {});
    }
  };

  const sweep = async (): Promise<number> => {
    if (stopped) return 0;
    const runIds = await dueRuns(core.db);
    for (const runId of runIds) await enqueue(runId);
    return runIds.length;
  };

  return {
    async start() {
      await boss.createQueue(SYNC_QUEUE, {
        policy: 'short',
        notify: true,
        retryLimit: 5,
        retryDelay: 1,
        retryBackoff: true,
        retryDelayMax: 20,
        expireInSeconds: 300,
        deleteAfterSeconds: 3600,
      });
      workId = await boss.work(
        SYNC_QUEUE,
        {
          localConcurrency: tuning.concurrency,
          batchSize: 1,
          pollingIntervalSeconds: 2,
          notifyPollingIntervalSeconds: 10,
        },
        async ([job]) => {
          if (!job) return;
          const data = jobData.safeParse(job.data);
          if (!data.success) return;
          const outcome = await syncRun(data.data.runId);
          log.debug('sync', { runId: data.data.runId, outcome });
        },
      );
      unsubscribeRuns = await core.subscribeRuns(
        (change) => poke(change.runId),
        () => void sweep().catch(() => {}),
      );
      const listener = await core.connection.sql.listen(LOG_CHANNEL, (payload) => {
        const runId = payload.split(':')[0];
        if (!runId) return;
        const now = Date.now();
        if (now - (lastLogPoke.get(runId) ?? 0) < tuning.logRefreshMs / 2) return;
        lastLogPoke.set(runId, now);
        if (lastLogPoke.size > 1000) lastLogPoke.clear();
        poke(runId);
      });
      unlistenLogs = () => listener.unlisten();
      let sweeps = 0;
      sweepTimer = setInterval(() => {
        sweeps += 1;
        void sweep().catch((error: unknown) => log.warn('sweep failed', { error }));
        if (sweeps % 720 === 0) void pruneRequests(core.db).catch(() => {});
      }, tuning.sweepMs);
      sweepTimer.unref();
      void sweep().catch(() => {});
    },

    async track(input) {
      await createMessageRow(core.db, input);
      await enqueue(input.runId);
    },

    poke,

    async redeliver(runId) {
      if (await markStale(core.db, runId)) await enqueue(runId);
    },

    sweep,
    syncRun,

    async stop() {
      stopped = true;
      if (sweepTimer) clearInterval(sweepTimer);
      for (const timer of wakeTimers.values()) clearTimeout(timer);
      wakeTimers.clear();
      if (workId !== null)
        await boss.offWork(SYNC_QUEUE, { id: workId, wait: true }).catch(() => {});
      await unsubscribeRuns?.().catch(() => {});
      await unlistenLogs?.().catch(() => {});
    },
  };
}
