// A worker process's engine: takes step jobs from the queue, executes claimed
// runs, beats its heartbeat, stops steps of runs it no longer owns, expires
// approvals and recovers runs whose worker died.

import { hostname } from 'node:os';
import type { Job } from 'pg-boss';
import { errorMessage } from '../errors.ts';
import { killGroup } from '../executors/process.ts';
import { decideOrphan } from '../lifecycle/recovery.ts';
import { pidAlive } from '../os/pid.ts';
import { QUEUES, type Queue, type StepJob } from '../queue/boss.ts';
import {
  claimRun,
  heartbeat,
  lockExpiredApprovals,
  lockOrphans,
  releaseClaim,
} from '../store/claims.ts';
import type { Db, Sql } from '../store/database.ts';
import { transition } from '../store/transition.ts';
import { SYSTEM_ACTOR } from '../text/plan.ts';
import { expireApproval } from './approval-expiry.ts';
import { newId } from './ids.ts';
import { type EngineContext, executeClaimedRun } from './steps.ts';

export type WorkerOptions = {
  /** `host/pid/random#n`; the part before # appears in the process's session names. */
  readonly id?: string;
  readonly db: Db;
  readonly sql: Sql;
  readonly queue: Queue;
  readonly dataDir: string;
  /** Steps run at once in this process. */
  readonly concurrency?: number;
  readonly heartbeatMs?: number;
  /** A worker silent this long is taken for dead. */
  readonly staleMs?: number;
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Trouble worth a line in the process's log; `fields` name the run (runId) when it is about one. */
  readonly log?: (line: string, fields?: { runId?: string }) => void;
};

export type Worker = {
  readonly id: string;
  /** Runs this worker is executing right now. */
  active(): string[];
  /** Runs one reaper pass now (tests and the CLI use it). */
  reap(): Promise<number>;
  stop(options?: { graceMs?: number }): Promise<void>;
};

/** The part of the worker's environment a step may see: never its database URL or tokens. */
export function defaultStepEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const allow = [
    'PATH',
    'HOME',
    'USER',
    'LOGNAME',
    'LANG',
    'LC_ALL',
    'TZ',
    'TMPDIR',
    'SHELL',
    'TERM',
  ];
  const patterns = (env.DEPLOY_STEP_ENV ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`));
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (allow.includes(key) || patterns.some((p) => p.test(key))) out[key] = value;
  }
  return out;
}

/** host/pid/random, short enough for application_name (63 bytes) with a prefix. */
export function newInstanceId(): string {
  return `${hostname().slice(0, 20)}/${process.pid}/${newId('run').slice(4, 10)}`;
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const id = options.id ?? `${newInstanceId()}#1`;
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const staleMs = options.staleMs ?? heartbeatMs * 5;
  const log =
    options.log ??
    ((line: string, _fields?: { runId?: string }) => process.stderr.write(`${line}\n`));
  const ctx: EngineContext = {
    db: options.db,
    sql: options.sql,
    queue: options.queue,
    dataDir: options.dataDir,
    workerId: id,
    baseEnv: options.baseEnv ?? defaultStepEnv(),
  };
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  let stopping = false;
  const { boss } = options.queue;

  // One pg-boss fetcher per process hands jobs to at most `concurrency` steps.
  // (pg-boss wakes every local fetcher on each NOTIFY: with one per step slot,
  // each job cost a burst of empty fetches.) The job completes once the run is
  // claimed; from then on the claim and its heartbeat guard the run, and a
  // step that ends in an unexpected error is left to the reaper like a crash.
  const concurrency = options.concurrency ?? 8;
  let free = concurrency;
  const waiters: (() => void)[] = [];
  const acquire = (): Promise<void> => {
    if (free > 0) {
      free -= 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      waiters.push(resolve);
    });
  };
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else free += 1;
  };

  async function onStep(job: Job<StepJob>) {
    const { runId } = job.data;
    if (stopping) throw new Error('worker stopping; the job goes back to the queue');
    await acquire();
    let run: Awaited<ReturnType<typeof claimRun>>;
    try {
      run = stopping ? null : await claimRun(options.db, options.queue, job.data, id);
    } catch (error) {
      release();
      throw error;
    }
    if (!run) {
      release(); // moved on, or another worker has it
      return;
    }
    const abort = new AbortController();
    const claimed = run;
    // Each execution is its own entry: a run that comes back to this worker for
    // its next step (quick approvals) must not be touched by the previous one's
    // cleanup, nor stopped by a heartbeat that was about the previous one.
    const entry: { abort: AbortController; done: Promise<void> } = {
      abort,
      done: Promise.resolve(),
    };
    entry.done = executeClaimedRun(ctx, claimed, abort.signal)
      .catch((error: unknown) => {
        // The run stays claimed and its heartbeat stops: the reaper retries a
        // read-only step or fails a change with the partly-changed hint.
        log(`run ${runId}: ${errorMessage(error)}`, { runId });
      })
      .finally(() => {
        if (running.get(runId) === entry) running.delete(runId);
        release();
      });
    running.set(runId, entry);
  }

  /** Cancels runs whose approval waited too long (a sweep: no job per run). */
  async function expireApprovals(): Promise<number> {
    return options.db.transaction(async (tx) => {
      const expired = await lockExpiredApprovals(tx);
      for (const run of expired) await expireApproval(tx, options.queue, run);
      return expired.length;
    });
  }

  async function reap(): Promise<number> {
    return options.db.transaction(async (tx) => {
      const orphans = await lockOrphans(tx, staleMs);
      for (const run of orphans) {
        const status = run.status;
        const [host, pidText] = (run.workerId ?? '').split('/');
        // On the dead worker's machine, stop what its step left running.
        if (host === hostname() && run.stepPid && !pidAlive(Number(pidText)))
          killGroup(run.stepPid, 'SIGKILL');
        const action = decideOrphan(status, run.stepAttempt);
        if (action.kind === 'retry') {
          // Keeps step_attempt, so a step that keeps killing workers eventually fails.
          await releaseClaim(tx, run.id, run.workerId ?? '');
          await options.queue.sendStep(tx, { runId: run.id, status, kind: run.kind });
          log(`run ${run.id}: ${action.reason}`, { runId: run.id });
        } else {
          await transition(tx, options.queue, {
            runId: run.id,
            kind: run.kind,
            from: status,
            to: action.to,
            actor: SYSTEM_ACTOR,
            reason: action.message,
            patch: { failedPhase: action.phase, error: action.message, recoveryHint: action.hint },
          });
          log(`run ${run.id}: ${action.message}`, { runId: run.id });
        }
      }
      return orphans.length;
    });
  }

  async function beat() {
    const asked = new Map(running);
    const lost = await heartbeat(options.db, id, [...asked.keys()]);
    for (const runId of lost) {
      const entry = running.get(runId);
      // Only the execution the heartbeat was about: the run may have been
      // claimed again by this worker for its next step meanwhile.
      if (entry && entry === asked.get(runId) && !entry.abort.signal.aborted) {
        log(`run ${runId}: no longer ours (cancelled or taken over); stopping its step`, { runId });
        entry.abort.abort();
      }
    }
  }

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => Promise<unknown>, what: string) => {
    let busy = false;
    const t = setInterval(() => {
      if (busy || stopping) return;
      busy = true;
      fn()
        .catch((error: unknown) => log(`${what}: ${errorMessage(error)}`))
        .finally(() => {
          busy = false;
        });
    }, ms);
    t.unref();
    timers.push(t);
  };
  every(heartbeatMs, beat, 'heartbeat');
  every(Math.max(250, Math.round(staleMs / 3)), reap, 'reaper');
  every(1000, expireApprovals, 'approval expiry');

  const workIds = [
    // Batches, and fetching again at once while they come back full: a burst
    // of NOTIFYs wakes the fetcher only once, so one job per wake-up would
    // leave a backlog to the (slow) polling.
    await boss.work<StepJob>(
      QUEUES.step,
      {
        localConcurrency: 1,
        batchSize: Math.max(2, concurrency),
        burstWhenBatchFull: true,
        pollingIntervalSeconds: 2,
        notifyPollingIntervalSeconds: 5,
      },
      async (jobs) => {
        const outcomes = await Promise.allSettled(jobs.map((job) => onStep(job)));
        const failed = outcomes.find((o) => o.status === 'rejected');
        // The batch is retried: jobs already claimed are no-ops the second time.
        if (failed) throw failed.reason;
      },
    ),
  ];

  return {
    id,
    active: () => [...running.keys()],
    reap,
    async stop({ graceMs = 10_000 } = {}) {
      stopping = true;
      for (const t of timers) clearInterval(t);
      for (const workId of workIds)
        await boss.offWork(QUEUES.step, { id: workId, wait: false }).catch(() => {});
      const all = Promise.all([...running.values()].map((r) => r.done));
      const timeout = new Promise((r) => setTimeout(r, graceMs).unref());
      await Promise.race([all, timeout]);
      for (const entry of running.values()) entry.abort.abort();
      await Promise.race([all, new Promise((r) => setTimeout(r, 5000).unref())]);
    },
  };
}
