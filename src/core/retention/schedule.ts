// The daily retention pass as a pg-boss schedule: every serve and worker
// process declares the same schedule (one row, so one job a day whatever the
// number of processes) and can run it; the queue's singleton policy lets one
// pass run at a time. A pg-boss instance of its own keeps the engine's queue
// free of cron polling.

import { PgBoss } from 'pg-boss';
import { errorMessage, wrapError } from '../errors.ts';
import type { Log } from '../logs/logger.ts';
import { BOSS_SCHEMA } from '../queue/boss.ts';
import type { Sql } from '../store/database.ts';
import { describePrune, type PruneReport, pruneHistory } from './prune.ts';
import type { Retention } from './settings.ts';

export const RETENTION_QUEUE = 'deploy-retention';
/** Every day at 03:17 UTC (off the hour, when deployments are rare). */
export const RETENTION_CRON = '17 3 * * *';

export type RetentionSchedule = {
  /** Asks for a pass now (the same job the schedule sends). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
};

export async function startRetentionSchedule(options: {
  readonly url: string;
  readonly sql: Sql;
  /** Read at each pass (the config may have been reloaded). */
  readonly retention: () => Retention;
  readonly log: Log;
  readonly cron?: string;
  /** Called with each pass's report (tests). */
  readonly onReport?: (report: PruneReport) => void;
}): Promise<RetentionSchedule> {
  const boss = new PgBoss({
    connectionString: options.url,
    schema: BOSS_SCHEMA,
    max: 2,
    application_name: 'deploy-bot:retention',
    supervise: false,
    migrate: false,
    schedule: true,
    registerInstance: false,
    useListenNotify: true,
  });
  boss.on('error', (error) =>
    options.log.warn('retention schedule: queue trouble (it recovers by itself)', {
      error: errorMessage(error),
    }),
  );
  let stopping = false;
  try {
    await boss.start();
    await boss.createQueue(RETENTION_QUEUE, {
      policy: 'singleton',
      notify: true,
      retryLimit: 2,
      retryDelay: 600,
    });
    await boss.schedule(RETENTION_QUEUE, options.cron ?? RETENTION_CRON, null, {
      tz: 'UTC',
      missed: 'once',
    });
    await boss.work(RETENTION_QUEUE, { pollingIntervalSeconds: 60 }, async () => {
      const started = Date.now();
      const report = await pruneHistory(options.sql, options.retention(), {
        shouldStop: () => stopping,
      });
      options.log.info('retention: pruned', {
        ...report,
        ms: Date.now() - started,
        summary: describePrune(report),
      });
      options.onReport?.(report);
    });
  } catch (cause) {
    await boss.stop({ graceful: false }).catch(() => {});
    throw wrapError('could not start the retention schedule (pg-boss)', cause);
  }
  return {
    async runNow() {
      await boss.send(RETENTION_QUEUE, null);
    },
    async stop() {
      stopping = true;
      await boss.stop({ graceful: true, timeout: 5000 });
    },
  };
}
