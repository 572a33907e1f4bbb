// This process's own Prometheus instruments: what only this process sees
// (time spent in each status it moved a run out of, approval waits, Slack Web
// API calls, run log lines it wrote or lost). Figures every process shares
// (runs by status, queue depth, runs finished, decisions, last success) come
// from PostgreSQL at scrape time (shared.ts). Labels are bounded sets only:
// never a user id, a run id or a variable value.

import { Counter, Histogram, Registry } from 'prom-client';
import {
  AWAITING_APPROVAL_STATUSES,
  phaseOf,
  type RunKind,
  type RunStatus,
} from '../lifecycle/statuses.ts';

export const registry = new Registry();

/** Seconds: from a pickup (sub-second) to a long apply or a day-long approval wait. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const WAIT_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 43_200, 86_400];

const statusDuration = new Histogram({
  name: 'deploybot_run_status_duration_seconds',
  help: 'Time a run spent in a working status (its phase: detect, plan, execute, verify, rollback; queued: waiting for the slot), observed when it left the status',
  labelNames: ['status', 'phase', 'kind'] as const,
  buckets: DURATION_BUCKETS,
  registers: [registry],
});

const approvalWait = new Histogram({
  name: 'deploybot_approval_wait_seconds',
  help: 'Time a run waited for an approval (stage plan or apply), observed when the wait ended (outcome: approved, cancelled, expired, superseded)',
  labelNames: ['stage', 'outcome'] as const,
  buckets: WAIT_BUCKETS,
  registers: [registry],
});

const slackCalls = new Counter({
  name: 'deploybot_slack_api_calls_total',
  help: 'Slack Web API calls made by this process, by method and result (ok, or the Slack error: ratelimited, not_in_channel, http_error, request_error, …)',
  labelNames: ['method', 'result'] as const,
  registers: [registry],
});

const logLines = new Counter({
  name: 'deploybot_run_log_lines_total',
  help: 'Run log lines this process stored (result written) or gave up on after the database refused them for minutes (result lost)',
  labelNames: ['result'] as const,
  registers: [registry],
});
logLines.inc({ result: 'written' }, 0);
logLines.inc({ result: 'lost' }, 0);

const processLogLines = new Counter({
  name: 'deploybot_log_lines_total',
  help: "Lines of this process's own log (LOG_LEVEL, LOG_FORMAT) written to stdout, or lost (stdout closed, a line that could not be written)",
  labelNames: ['result'] as const,
  registers: [registry],
});
processLogLines.inc({ result: 'written' }, 0);
processLogLines.inc({ result: 'lost' }, 0);

export type TransitionFact = {
  readonly kind: RunKind;
  readonly from: RunStatus;
  readonly to: RunStatus;
  /** How long the run was in `from`. */
  readonly seconds: number;
  readonly reason?: string | undefined;
};

/** The outcome label of a run that ends in `to` (an approval that timed out is `expired`). */
export function outcomeOf(to: RunStatus, reason: string | undefined): string {
  if (to === 'cancelled' && reason?.startsWith('approval expired')) return 'expired';
  return to;
}

export function recordTransition(fact: TransitionFact): void {
  if (!Number.isFinite(fact.seconds) || fact.seconds < 0) return;
  if (AWAITING_APPROVAL_STATUSES.includes(fact.from)) {
    const stage = fact.from === 'awaiting_plan_approval' ? 'plan' : 'apply';
    const outcome =
      fact.to === 'cancelled'
        ? fact.reason?.startsWith('approval expired')
          ? 'expired'
          : fact.reason?.startsWith('superseded')
            ? 'superseded'
            : 'cancelled'
        : 'approved';
    approvalWait.observe({ stage, outcome }, fact.seconds);
    return;
  }
  const phase = phaseOf(fact.from) ?? (fact.from === 'queued' ? 'queue' : null);
  if (phase === null) return;
  statusDuration.observe({ status: fact.from, phase, kind: fact.kind }, fact.seconds);
}

export function recordSlackCall(method: string, result: string): void {
  slackCalls.inc({ method, result });
}

export function recordLogLines(result: 'written' | 'lost', count: number): void {
  if (count > 0) logLines.inc({ result }, count);
}

export function recordProcessLogLines(result: 'written' | 'lost', count: number): void {
  if (count > 0) processLogLines.inc({ result }, count);
}
