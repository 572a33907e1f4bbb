// The outbox: Slack delivery of run messages through the job queue, with all
// state in Postgres so any number of bot processes share the work.
//
// A job on the `slack-sync` queue means "bring run R's message up to date"
// ("short" policy with R as singleton key: at most one queued job per run, so a
// burst of changes coalesces into one delivery; a job left active by a process
// that died never blocks the next one). The job (sync.ts) takes the row's
// lease, renders the run as it is now, posts or updates the message, fills the
// thread, and records what it delivered. A Slack outage, 5xx or 429 stores
// when to try again (Retry-After, or backoff) and nothing is lost: a timer,
// the next change, or the periodic sweep brings every message to its true
// state once Slack answers again.
//
// Triggers: the run-change NOTIFY (core.subscribeRuns) and the log NOTIFY (the
// latest lines of a working run), weighed by schedule.ts before they cost a
// job; and a sweep every few seconds for rows that are behind (missed
// notifications, a process that died, the end of an outage).
//
// Jobs are fetched in batches by one queue worker: a NOTIFY wakes every worker
// of a queue, so several workers would each fetch for every job sent; and a
// full batch is followed by the next fetch at once, so a backlog drains
// without waiting for the polling interval.

import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Unsubscribe } from '../../core/api/types.ts';
import type { Log } from '../log.ts';
import type { BotPort } from '../port.ts';
import { dueRuns, markStale, pruneRequests } from '../store/messages.ts';
import { dueNoticeRuns } from '../store/notices.ts';
import type { DeliverDeps } from './deliver.ts';
import { createSchedule } from './schedule.ts';
import { createSync, type SyncOutcome } from './sync.ts';

export type { SyncOutcome } from './sync.ts';

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
  readonly core: BotPort;
  readonly client: WebClient;
  readonly log: Log;
  /** This process's name in leases. */
  readonly owner: string;
  readonly tuning?: Partial<OutboxTuning>;
};

export type Outbox = {
  start(): Promise<void>;
  /** Posts the message of a run requested from Slack (its outbox row was created with the run). */
  track(runId: string): Promise<void>;
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

export function createOutbox(options: OutboxOptions): Outbox {
  const tuning: OutboxTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const { core, client, owner } = options;
  const log = options.log.child({ component: 'outbox' });
  const boss = core.jobs;
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
  let unlistenLogs: Unsubscribe | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  const pending = new Set<string>();
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

  /** Enqueues once per turn of the event loop, however many asked. */
  const enqueueSoon = (runId: string) => {
    if (stopped || pending.has(runId)) return;
    pending.add(runId);
    setImmediate(() => {
      pending.delete(runId);
      void enqueue(runId);
    });
  };

  const schedule = createSchedule(tuning, enqueueSoon, () => pausedUntil);
  const syncRun = createSync({
    ...deps,
    tuning,
    schedule,
    pausedUntil: () => pausedUntil,
    pause: (until) => {
      pausedUntil = Math.max(pausedUntil, until);
    },
  });

  const runJob = async (runId: string) => {
    try {
      const outcome = await syncRun(runId);
      log.debug('sync', { runId, outcome });
    } catch (error) {
      // The database failed under the delivery: try again later (the sweep too).
      log.warn('a Slack delivery failed', { runId, error });
      schedule.wakeAt(runId, Date.now() + Math.min(2000, tuning.maxBackoffMs), true);
    }
  };

  const sweep = async (): Promise<number> => {
    if (stopped) return 0;
    // A run this process has in hand is delivered anyway; a job sent for it
    // would only be refused as a duplicate (a round trip each, hundreds under load).
    const due = new Set([...(await dueRuns(core.store)), ...(await dueNoticeRuns(core.store))]);
    const runIds = [...due].filter((runId) => !schedule.inHand(runId));
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
          localConcurrency: 1,
          batchSize: tuning.concurrency,
          burstWhenBatchFull: true,
          pollingIntervalSeconds: 2,
          notifyPollingIntervalSeconds: 10,
        },
        async (jobs) => {
          const runIds = new Set<string>();
          for (const job of jobs) {
            const data = jobData.safeParse(job.data);
            if (data.success) runIds.add(data.data.runId);
          }
          await Promise.all([...runIds].map(runJob));
        },
      );
      unsubscribeRuns = await core.subscribeRuns(
        (change) => schedule.changed(change.runId, change.version, change.status),
        () => void sweep().catch(() => {}),
      );
      unlistenLogs = await core.followLogActivity((runId) => schedule.logged(runId));
      let sweeps = 0;
      sweepTimer = setInterval(() => {
        sweeps += 1;
        void sweep().catch((error: unknown) => log.warn('sweep failed', { error }));
        if (sweeps % 720 === 0) void pruneRequests(core.store).catch(() => {});
      }, tuning.sweepMs);
      sweepTimer.unref();
      void sweep().catch(() => {});
    },

    async track(runId) {
      // The run's creation is announced (NOTIFY) too, usually before the row
      // this call follows was written: a job sent for it and not started yet
      // will find the row; another would be refused as a duplicate. A delivery
      // running now may have looked before the row existed: it gets a job.
      if (!schedule.busy(runId) && schedule.inHand(runId)) {
        schedule.poke(runId);
        return;
      }
      schedule.queued(runId);
      await enqueue(runId);
    },

    poke: (runId) => schedule.poke(runId),

    async redeliver(runId) {
      // Rendered from scratch at the next delivery, which keeps the update gap:
      // a burst of clicks on an outdated message refreshes it once, not once a click.
      if (await markStale(core.store, runId)) schedule.stale(runId);
    },

    sweep,
    syncRun,

    async stop() {
      stopped = true;
      if (sweepTimer) clearInterval(sweepTimer);
      schedule.stop();
      if (workId !== null) await boss.offWork(SYNC_QUEUE, workId).catch(() => {});
      await unsubscribeRuns?.().catch(() => {});
      await unlistenLogs?.().catch(() => {});
    },
  };
}
