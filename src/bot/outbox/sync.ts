// One delivery of a run's message ("bring it up to date"), as a job of the
// outbox runs it: take the row's lease (one delivery per run at a time, across
// processes), render the run as it is now, post or update the message, fill
// the thread, and record what was delivered. Within the update gap it
// delivers nothing and asks to be woken at its end instead of waiting with a
// job slot and the lease held. A Slack failure stores when to try again
// (Retry-After, or backoff); a finished run whose message and thread show it
// all is settled.

import type { RunView } from '../../core/api/types.ts';
import { isRefusal } from '../../core/errors.ts';
import { isTerminal } from '../../core/lifecycle/statuses.ts';
import { renderRunMessage } from '../render/run-message.ts';
import { slackErrorText } from '../slack/client.ts';
import {
  claimLease,
  getMessageRow,
  type MessageRow,
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
import { deliverNotices } from './notify.ts';
import type { Schedule, Shown } from './schedule.ts';

export type SyncOutcome =
  | 'none'
  | 'settled'
  | 'deferred'
  | 'busy'
  | 'delivered'
  | 'up_to_date'
  | 'retry_scheduled'
  | 'gave_up';

export type SyncTuning = {
  readonly minUpdateGapMs: number;
  readonly logRefreshMs: number;
  readonly leaseMs: number;
  readonly maxBackoffMs: number;
  readonly slowRetryMs: number;
  readonly logTailLines: number;
};

export type SyncDeps = DeliverDeps & {
  readonly tuning: SyncTuning;
  readonly schedule: Schedule;
  /** Slack said 429: nothing is sent from this process before this time. */
  readonly pausedUntil: () => number;
  readonly pause: (until: number) => void;
};

type Result = { readonly outcome: SyncOutcome; readonly shown: Shown | null };

const nothing = (outcome: SyncOutcome): Result => ({ outcome, shown: null });

function shownBy(row: MessageRow): Shown {
  return { version: row.deliveredVersion, updatedAt: row.lastUpdateAt?.getTime() ?? null };
}

export function createSync(deps: SyncDeps): (runId: string) => Promise<SyncOutcome> {
  const { core, owner, tuning, schedule, log } = deps;

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

  const onSlackFailure = async (
    row: MessageRow,
    run: RunView,
    error: SlackCallError,
  ): Promise<SyncOutcome> => {
    const failure = error.failure;
    const attempts = row.attempts + 1;
    let delay: number;
    let giveUp = false;
    switch (failure.kind) {
      case 'rate_limited':
        delay = failure.retryAfterSeconds * 1000;
        deps.pause(Date.now() + delay);
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
    await updateLeased(core.store, row.runId, owner, {
      attempts,
      lastError: `${error.method}: ${text}`.slice(0, 2000),
      nextAttemptAt: giveUp ? null : next,
      ...(giveUp ? { settled: true } : {}),
    });
    const fields = { runId: run.id, method: error.method, error: text, attempts };
    if (giveUp) {
      log.error('gave up delivering a run message', fields);
      return 'gave_up';
    }
    log.warn('Slack delivery failed: will try again', { ...fields, retryInMs: delay });
    schedule.wakeAt(row.runId, next.getTime(), true);
    return 'retry_scheduled';
  };

  /** The run now, and the latest log lines its message would show. */
  const latest = async (runId: string) => {
    const run = await core.getRun(runId);
    const showsLog = LOG_TAIL_STATUSES.has(run.status);
    const tail = showsLog ? await core.readLogs(runId, { tail: tuning.logTailLines }) : [];
    return { run, tail, logId: tail.length > 0 ? tail[tail.length - 1]!.id : 0 };
  };

  const deliverLeased = async (leased: MessageRow): Promise<Result> => {
    let row = leased;
    let outcome: SyncOutcome = 'up_to_date';
    // A second round only when a finished run changed while it was delivered.
    for (let round = 0; round < 3; round++) {
      const { run, tail, logId } = await latest(row.runId);
      const versionBehind =
        run.version > row.deliveredVersion || row.deliveredStatus !== run.status;
      const logBehind = logId > row.deliveredLogId;
      try {
        if (row.ts === null || versionBehind || logBehind) {
          if (row.ts !== null && row.lastUpdateAt !== null) {
            const gap = versionBehind ? tuning.minUpdateGapMs : tuning.logRefreshMs;
            const at = row.lastUpdateAt.getTime() + gap;
            if (at > Date.now()) {
              // Render what is true at the end of the gap, once.
              schedule.wakeAt(row.runId, at);
              return outcome === 'delivered'
                ? { outcome, shown: shownBy(row) }
                : nothing('deferred');
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
        const noticeWake = await deliverNotices(deps, row, run);
        if (noticeWake !== null) schedule.wakeAt(row.runId, noticeWake);
      } catch (error) {
        if (error instanceof SlackCallError) {
          return { outcome: await onSlackFailure(row, run, error), shown: null };
        }
        throw error;
      }
      const threadDone =
        (run.plan === null || (row.planThreadId === run.plan.id && row.planThreadDone)) &&
        (!FAILURE_STATUSES.has(run.status) || row.logThreadDone);
      if (!isTerminal(run.status) || !threadDone || row.deliveredVersion !== run.version) {
        return { outcome, shown: shownBy(row) };
      }
      // A finished run changes no more: one last look that nothing arrived meanwhile.
      const again = await core.getRun(row.runId);
      if (again.version === row.deliveredVersion) {
        await updateLeased(core.store, row.runId, owner, { settled: true });
        schedule.forget(row.runId);
        return { outcome, shown: null };
      }
    }
    return { outcome, shown: shownBy(row) };
  };

  const syncLeased = async (runId: string): Promise<Result> => {
    const leased = await claimLease(core.store, runId, owner, tuning.leaseMs);
    if (!leased) {
      const row = await getMessageRow(core.store, runId);
      if (!row) {
        schedule.none(runId);
        return nothing('none');
      }
      if (row.settled) {
        schedule.forget(runId);
        return nothing('settled');
      }
      // Another process is delivering; look again shortly in case it just finished.
      schedule.wakeAt(runId, Date.now() + 1000);
      return nothing('busy');
    }
    if (leased.nextAttemptAt !== null && leased.nextAttemptAt.getTime() > Date.now()) {
      await releaseLease(core.store, runId, owner).catch(() => {});
      schedule.wakeAt(runId, leased.nextAttemptAt.getTime(), true);
      return nothing('deferred');
    }
    try {
      return await deliverLeased(leased);
    } catch (error) {
      if (error instanceof LeaseLost) {
        log.warn('lost a delivery lease', { runId, error: error.message });
        return nothing('busy');
      }
      if (isRefusal(error) && error.code === 'unknown_run') return nothing('none');
      throw error;
    } finally {
      await releaseLease(core.store, runId, owner).catch(() => {});
    }
  };

  return async (runId) => {
    const until = deps.pausedUntil();
    if (until > Date.now()) {
      schedule.wakeAt(runId, until);
      return 'deferred';
    }
    // One delivery per run at a time: in this process here, across processes by the row's lease.
    if (schedule.busy(runId)) {
      schedule.wakeAt(runId, Date.now() + 1000);
      return 'busy';
    }
    schedule.begin(runId);
    let shown: Shown | null = null;
    try {
      const result = await syncLeased(runId);
      shown = result.shown;
      return result.outcome;
    } finally {
      schedule.done(runId, shown);
    }
  };
}
