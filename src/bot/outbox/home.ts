// Publishing people's Home tabs. `app_home_opened` records the person and
// publishes at once; while runs change (the run NOTIFY), the Home of everyone
// who opened it within `recentMs` is marked due in Postgres and published at
// once where the per-person gap allows; the others get a job on the
// `slack-home` queue for the end of their gap (singleton per person, so a
// burst of changes is one publish). Each publish is claimed in Postgres (due, and not within `gapMs`
// of the last one), so one process publishes it and a person's Home is
// published at most once per gap; a claim refused by the gap comes back as a
// job when the gap ends.

import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Actor, RunView, Unsubscribe } from '../../core/api/types.ts';
import { STATUS_GROUPS } from '../../core/lifecycle/statuses.ts';
import type { Log } from '../log.ts';
import type { BotPort } from '../port.ts';
import { renderHome } from '../render/home.ts';
import { classifySlackError, slackErrorText } from '../slack/client.ts';
import { claimPublish, homeOf, homeOpened, markHomesDue, publishFailed } from '../store/homes.ts';
import { messageChannels } from '../store/messages.ts';

export const HOME_QUEUE = 'slack-home';

export type HomeTuning = {
  /** At most one publish per person per … ms (default 3000). */
  readonly gapMs: number;
  /** Homes opened within … ms are kept up to date (default 24 h). */
  readonly recentMs: number;
};

export const DEFAULT_HOME_TUNING: HomeTuning = { gapMs: 3000, recentMs: 24 * 3600_000 };

export type HomePublisher = {
  start(): Promise<void>;
  /** The person opened the Home tab: publish it now. */
  opened(userId: string): Promise<void>;
  /** Publishes the Homes of these people now, where due (tests, and the job handler). */
  publish(userIds: readonly string[]): Promise<void>;
  stop(): Promise<void>;
};

const jobData = z.object({ userId: z.string().min(1) });

/** What every Home of one batch is built from, read once. */
type Snapshot = {
  readonly awaiting: RunView[];
  readonly recent: RunView[];
  readonly running: RunView[];
  readonly channels: Map<string, string>;
};

export function createHomePublisher(options: {
  readonly core: BotPort;
  readonly client: WebClient;
  readonly log: Log;
  readonly command: string;
  readonly tuning?: Partial<HomeTuning>;
}): HomePublisher {
  const { core, client, command } = options;
  const tuning: HomeTuning = { ...DEFAULT_HOME_TUNING, ...options.tuning };
  const log = options.log.child({ component: 'home' });
  const boss = core.jobs;
  let workId: string | null = null;
  let unsubscribe: Unsubscribe | null = null;
  let changeTimer: NodeJS.Timeout | null = null;
  let stopped = false;

  const timers = new Map<string, NodeJS.Timeout>();

  /**
   * Publish `userId`'s Home at `at`: a job (durable: another process, or this
   * one after a restart, publishes it) and, for a time ahead, a timer here too
   * (a job that is not due yet is only seen at the queue's next poll).
   */
  const later = async (userId: string, at: number) => {
    if (stopped) return;
    const wait = at - Date.now();
    if (wait > 0 && !timers.has(userId)) {
      const timer = setTimeout(() => {
        timers.delete(userId);
        void publish([userId]).catch((error: unknown) =>
          log.warn('could not publish a Home', { userId, error }),
        );
      }, wait + 20);
      timer.unref();
      timers.set(userId, timer);
    }
    await boss
      .send(HOME_QUEUE, { userId }, { singletonKey: userId, startAfter: new Date(at) })
      .catch((error: unknown) => log.warn('could not queue a Home publish', { userId, error }));
  };

  const snapshot = async (): Promise<Snapshot> => {
    const [awaiting, running, recent] = await Promise.all([
      core.listRuns({ statuses: STATUS_GROUPS.awaiting_approval, limit: 100 }),
      core.listRuns({ statuses: STATUS_GROUPS.active, limit: 50 }),
      core.listRuns({ limit: 200 }),
    ]);
    const ids = [...new Set([...awaiting, ...running, ...recent].map((r) => r.id))];
    const channels = await messageChannels(core.store, ids);
    return {
      awaiting,
      running: running.filter((r) => !STATUS_GROUPS.awaiting_approval.includes(r.status)),
      recent,
      channels,
    };
  };

  /**
   * Runs the person may decide now: the core's `allowed` for them, clicking in
   * the run's channel (as a Home button acts there).
   */
  const waitingFor = async (userId: string, snap: Snapshot) => {
    const out: RunView[] = [];
    for (const run of snap.awaiting) {
      const channel = snap.channels.get(run.id);
      const actor: Actor = { id: userId, via: 'slack', ...(channel ? { channel } : {}) };
      try {
        const allowed = await core.decisionsFor(run.id, actor);
        if (allowed.some((d) => d !== 'cancel')) out.push(run);
      } catch (error) {
        log.warn('could not check who may decide for the Home', { runId: run.id, error });
      }
    }
    return out;
  };

  const publishOne = async (userId: string, snap: Snapshot) => {
    const claimed = await claimPublish(core.store, userId, tuning.gapMs);
    if (claimed === null) {
      const row = await homeOf(core.store, userId);
      if (row?.due && row.publishedAt !== null)
        await later(userId, row.publishedAt.getTime() + tuning.gapMs);
      return;
    }
    const view = renderHome({
      user: userId,
      waiting: await waitingFor(userId, snap),
      mine: snap.recent.filter((r) => r.requestedBy === userId).slice(0, 10),
      running: snap.running,
      channels: snap.channels,
      command,
      now: new Date(),
    });
    try {
      await client.views.publish({ user_id: userId, view: view as never });
      log.debug('published a Home', { userId });
    } catch (error) {
      const failure = classifySlackError(error);
      await publishFailed(core.store, userId, slackErrorText(failure));
      log.warn('could not publish a Home', { userId, error: slackErrorText(failure) });
      const wait =
        failure.kind === 'rate_limited' ? failure.retryAfterSeconds * 1000 : tuning.gapMs * 2;
      if (failure.kind !== 'auth' && failure.kind !== 'channel')
        await later(userId, Date.now() + wait);
    }
  };

  const publish = async (userIds: readonly string[]) => {
    if (userIds.length === 0) return;
    const snap = await snapshot();
    await Promise.all(userIds.map((u) => publishOne(u, snap)));
  };

  const onChange = () => {
    // A burst of run changes is one pass.
    if (changeTimer !== null || stopped) return;
    changeTimer = setTimeout(() => {
      changeTimer = null;
      void (async () => {
        // Every process hears the change; each Home is claimed by one of them.
        const due = await markHomesDue(core.store, tuning.recentMs);
        const now = Date.now();
        const ready: string[] = [];
        const held: Promise<void>[] = [];
        for (const row of due) {
          const at = row.publishedAt !== null ? row.publishedAt.getTime() + tuning.gapMs : now;
          if (at <= now) ready.push(row.userId);
          else held.push(later(row.userId, at));
        }
        await Promise.all([publish(ready), ...held]);
      })().catch((error: unknown) => log.warn('could not mark Homes due', { error }));
    }, 50);
    changeTimer.unref();
  };

  return {
    async start() {
      await boss.createQueue(HOME_QUEUE, {
        policy: 'short',
        notify: true,
        retryLimit: 2,
        expireInSeconds: 60,
        deleteAfterSeconds: 600,
      });
      workId = await boss.work(
        HOME_QUEUE,
        {
          localConcurrency: 1,
          batchSize: 50,
          pollingIntervalSeconds: 2,
          notifyPollingIntervalSeconds: 10,
        },
        async (jobs) => {
          const users = new Set<string>();
          for (const job of jobs) {
            const data = jobData.safeParse(job.data);
            if (data.success) users.add(data.data.userId);
          }
          await publish([...users]);
        },
      );
      unsubscribe = await core.subscribeRuns(onChange);
    },
    async opened(userId) {
      await homeOpened(core.store, userId);
      await publish([userId]);
    },
    publish,
    async stop() {
      stopped = true;
      if (changeTimer !== null) clearTimeout(changeTimer);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      if (workId !== null) await boss.offWork(HOME_QUEUE, workId).catch(() => {});
      await unsubscribe?.().catch(() => {});
    },
  };
}
