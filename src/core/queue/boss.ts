// The job queue that drives the lifecycle: pg-boss in the same database, with
// LISTEN/NOTIFY wake-ups. Jobs are enqueued inside the transaction that changes
// the run's status, so a status and its job commit (or vanish) together.

import { fromDrizzle, PgBoss } from 'pg-boss';
import { wrapError } from '../errors.ts';
import type { RunKind, RunStatus } from '../lifecycle/statuses.ts';
import type { Tx } from '../store/database.ts';
import { sql as drizzleSql } from '../store/orm.ts';

export const QUEUES = {
  /** Advance a run that is in a working status: detect/plan, apply/destroy, verify, rollback. */
  step: 'deploy-run-step',
} as const;

export type StepJob = {
  readonly runId: string;
  readonly status: RunStatus;
  /** The run's kind (jobs queued by older versions lack it). */
  readonly kind?: RunKind;
};

export const BOSS_SCHEMA = 'pgboss';

export type Queue = {
  readonly boss: PgBoss;
  sendStep(tx: Tx, job: StepJob): Promise<void>;
  stop(): Promise<void>;
};

export async function startQueue(
  url: string,
  options: {
    max?: number;
    supervise?: boolean;
    /** Where pg-boss's connection trouble is reported (it recovers by itself). */
    log?: (line: string) => void;
  } = {},
): Promise<Queue> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const boss = new PgBoss({
    connectionString: url,
    schema: BOSS_SCHEMA,
    max: options.max ?? 4,
    useListenNotify: true,
    application_name: 'deploy-bot:queue',
    supervise: options.supervise ?? true,
    schedule: false,
    registerInstance: false,
  });
  const errors: unknown[] = [];
  boss.on('error', (error) => {
    errors.push(error);
    // pg-boss reports connection trouble here and recovers by itself.
    log(`queue: ${String((error as Error).message ?? error)}`);
  });
  try {
    await boss.start();
    for (const name of Object.values(QUEUES)) {
      await boss.createQueue(name, {
        notify: true,
        retryLimit: 5,
        retryDelay: 1,
        retryBackoff: true,
        expireInSeconds: 4 * 3600,
      });
    }
  } catch (cause) {
    await boss.stop({ graceful: false }).catch(() => {});
    throw wrapError('could not start the job queue (pg-boss)', cause);
  }
  const db = (tx: Tx) => fromDrizzle(tx, drizzleSql);
  return {
    boss,
    async sendStep(tx, job) {
      await boss.send(QUEUES.step, job, { db: db(tx) });
    },
    async stop() {
      await boss.stop({ graceful: true, timeout: 5000 });
    },
  };
}
