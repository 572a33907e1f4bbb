// The Slack Web API unavailable while runs move: down (503 to everything) for
// 60 s in the full run (10 s in npm test), answering HTTP 500, and answering
// 429 with Retry-After. In each case five runs, two requested before the fault
// (their messages are posted) and three during it (nothing can be posted),
// move to five different final states while Slack does not answer. After
// recovery every run has exactly one message in the channel (none lost, none
// posted twice) and it shows the run's true final state; after a 429 no call
// for that run's message comes before Retry-After has passed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getMessageRow } from '../../src/bot/store/messages.ts';
import type { Actor, RunView } from '../../src/core/api/types.ts';
import { isTerminal, type RunStatus, STATUS_TABLE } from '../../src/core/lifecycle/statuses.ts';
import {
  type BotHarness,
  CHANNEL,
  messageText,
  shownStatus,
  startBotHarness,
} from '../support/bot-harness.ts';
import type { FakeCall } from '../support/fake-slack.ts';
import { FULL, reportFigures, sleep, waitUntil } from '../support/faults-support.ts';

const OUTAGE_MS = FULL ? 60_000 : 10_000;
const ERRORS_MS = FULL ? 30_000 : 6_000;
const RATE_LIMITED_CALLS = FULL ? 15 : 5;
const RETRY_AFTER_S = 2;

const OUTCOMES = ['complete', 'fail', 'rollback', 'nochange', 'cancel'] as const;
type Outcome = (typeof OUTCOMES)[number];
const FINAL: Record<Outcome, RunStatus> = {
  complete: 'completed',
  fail: 'failed',
  rollback: 'rolled_back',
  nochange: 'no_changes',
  cancel: 'cancelled',
};

const CONFIG = `
deployments:
${OUTCOMES.map(
  (o) => `  - name: out-${o}
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      outcome: { type: select, options: [${o}], default: ${o} }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, rollback: ./rollback.sh, timeout: 30s }
    verify: { command: ./verify.sh, timeout: 30s }
`,
).join('')}`;

const FILES = {
  'src/plan.sh': `echo "planning $DEPLOY_RUN_ID"
if [ "$DEPLOY_VAR_outcome" = nochange ]; then
  echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
else
  echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
fi`,
  'src/apply.sh': `i=0
while [ $i -lt 5 ]; do echo "apply line $i of $DEPLOY_RUN_ID"; i=$((i+1)); sleep 0.1; done
if [ "$DEPLOY_VAR_outcome" = fail ]; then echo "Error: the apply of $DEPLOY_RUN_ID failed" >&2; exit 3; fi
printf '{"endpoint":"https://web.example.com/%s"}' "$DEPLOY_RUN_ID" > "$DEPLOY_OUTPUTS_FILE"`,
  'src/verify.sh': `echo "verifying $DEPLOY_RUN_ID"
[ "$DEPLOY_VAR_outcome" != rollback ]`,
  'src/rollback.sh': `echo "rolling back $DEPLOY_RUN_ID"`,
};

const APPROVER: Actor = { id: 'U0APPROVER', via: 'cli' };

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: FILES,
    workers: 2,
    outbox: { sweepMs: 400, maxBackoffMs: 1500 },
  });
});
afterAll(async () => {
  await b?.close();
});

/** Requests `/deploy out-<outcome>` and finds the run it created (its reply may be undeliverable). */
async function request(outcome: Outcome): Promise<string> {
  const seen = new Set(b.logs.filter((l) => l.msg === 'run requested').map((l) => String(l.runId)));
  const res = await b.command(`out-${outcome}`);
  expect(res.status).toBe(200);
  return waitUntil(
    () =>
      b.logs.find(
        (l) =>
          l.msg === 'run requested' &&
          l.deployment === `out-${outcome}` &&
          !seen.has(String(l.runId)),
      )?.runId as string | undefined,
    `the run of /deploy out-${outcome}`,
    20_000,
  );
}

/** Drives a run to its outcome through the core (approvals as from the CLI). */
async function drive(runId: string, outcome: Outcome): Promise<RunView> {
  if (outcome === 'nochange') return b.h.waitFor(runId, 'no_changes', 30_000);
  const planned = await b.h.waitFor(runId, 'awaiting_plan_approval', 30_000);
  if (outcome === 'cancel') {
    return b.h.core.cancelRun(runId, APPROVER, { reason: 'not today' });
  }
  await b.h.core.approvePlan(runId, APPROVER, { planId: planned.plan?.id });
  await b.h.core.confirmApply(runId, APPROVER, { planId: planned.plan?.id });
  return b.h.waitFor(runId, FINAL[outcome], 30_000);
}

/** Successful top-level posts of the run's message. */
const mainPosts = (runId: string) =>
  b.slack
    .callsTo('chat.postMessage')
    .filter(
      (c) =>
        c.response.ok === true &&
        c.args.thread_ts === undefined &&
        JSON.stringify(c.args.blocks ?? '').includes(`header:${runId}`),
    );

/** The run a Web API call was about: its message (by ts), its thread, or its blocks. */
function runOfCall(call: FakeCall, runIds: readonly string[]): string | null {
  const ts = (call.args.thread_ts ?? call.args.ts) as string | undefined;
  if (ts !== undefined) {
    const message = b.slack.message(String(call.args.channel ?? CHANNEL), String(ts));
    const text = message ? JSON.stringify(message.blocks ?? []) : '';
    return runIds.find((id) => text.includes(`header:${id}`)) ?? null;
  }
  const blocks = JSON.stringify(call.args.blocks ?? '');
  return runIds.find((id) => blocks.includes(`header:${id}`)) ?? null;
}

type Totals = {
  runs: number;
  messages: number;
  lost: number;
  duplicates: number;
  wrongFinalState: number;
  failedCalls: number;
};
const totals: Record<string, Totals & Record<string, number>> = {};

/**
 * Five runs: two requested before `fault()` (their messages posted), three
 * during it; all five reach their final states during the fault; then `heal()`.
 * Returns the run ids after checking every message.
 */
async function scenario(
  name: string,
  fault: () => void,
  heal: () => Promise<void>,
): Promise<{ runIds: string[]; startedAt: number }> {
  const startedAt = Date.now();
  const callsBefore = b.slack.calls.length;
  const early: [string, Outcome][] = [];
  for (const outcome of ['complete', 'fail'] as const) {
    const runId = await request(outcome);
    await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Awaiting plan'), 30_000);
    early.push([runId, outcome]);
  }
  fault();
  const late: [string, Outcome][] = [];
  for (const outcome of ['rollback', 'nochange', 'cancel'] as const)
    late.push([await request(outcome), outcome]);
  const runs = [...early, ...late];
  const ends = await Promise.all(runs.map(([id, outcome]) => drive(id, outcome)));
  for (const [i, end] of ends.entries()) expect(end.status).toBe(FINAL[runs[i]![1]]);
  // Nothing of the final states reached Slack yet (the fault holds).
  await heal();

  const runIds = runs.map(([id]) => id);
  for (const [runId] of runs) {
    const run = await b.h.core.getRun(runId);
    expect(isTerminal(run.status)).toBe(true);
    const label = STATUS_TABLE[run.status].label;
    const shown = await b.messageWhere(runId, (m) => shownStatus(m).startsWith(label), 60_000);
    if (run.status === 'failed') expect(messageText(shown)).toContain('exited with code 3');
    if (run.status === 'cancelled') expect(messageText(shown)).toContain('not today');
    // Settled: delivered to the end, nothing more to do for it.
    await waitUntil(
      async () => (await getMessageRow(b.h.core.db, runId))?.settled,
      `the message of ${runId} to settle`,
      30_000,
    );
  }
  // A little longer: a late duplicate would show now.
  await sleep(1500);
  const t: Totals & Record<string, number> = {
    runs: runIds.length,
    messages: 0,
    lost: 0,
    duplicates: 0,
    wrongFinalState: 0,
    failedCalls: b.slack.calls.slice(callsBefore).filter((c) => c.status !== 200).length,
  };
  for (const runId of runIds) {
    const messages = b.messagesOf(runId);
    const posts = mainPosts(runId).length;
    t.messages += messages.length;
    if (messages.length === 0) t.lost += 1;
    t.duplicates += Math.max(0, messages.length - 1) + Math.max(0, posts - 1);
    const run = await b.h.core.getRun(runId);
    if (!shownStatus(messages[0]!).startsWith(STATUS_TABLE[run.status].label))
      t.wrongFinalState += 1;
    expect(messages, `messages of ${runId}`).toHaveLength(1);
    expect(posts, `posts of ${runId}`).toBe(1);
  }
  totals[name] = t;
  expect(t).toMatchObject({ lost: 0, duplicates: 0, wrongFinalState: 0 });
  return { runIds, startedAt };
}

describe('Slack unavailable while runs move: no run message lost, none twice, each shows its true final state', () => {
  it(
    `Slack down (503 to everything) for ${OUTAGE_MS / 1000} s`,
    async () => {
      let outageEnds = 0;
      let endedDuringOutage = false;
      await scenario(
        'down',
        () => {
          outageEnds = Date.now() + OUTAGE_MS;
          b.slack.down(OUTAGE_MS);
        },
        async () => {
          // The runs ended while Slack was down (unless the machine was slower
          // than the outage is long): their messages cannot show it yet.
          endedDuringOutage = Date.now() < outageEnds;
          await sleep(Math.max(0, outageEnds - Date.now()));
          b.slack.up();
        },
      );
      totals.down!.unavailableAnswers = b.slack.calls.filter((c) => c.status === 503).length;
      totals.down!.runsEndedDuringOutage = endedDuringOutage ? 5 : 0;
      expect(totals.down!.unavailableAnswers).toBeGreaterThan(0);
    },
    OUTAGE_MS + 180_000,
  );

  it(
    `Slack answering HTTP 500 to every call for ${ERRORS_MS / 1000} s`,
    async () => {
      const before = b.slack.calls.length;
      let healAt = 0;
      await scenario(
        'http500',
        () => {
          healAt = Date.now() + ERRORS_MS;
          b.slack.fail('*', { status: 500 }, Number.POSITIVE_INFINITY);
        },
        async () => {
          await sleep(Math.max(0, healAt - Date.now()));
          b.slack.clearFaults();
        },
      );
      totals.http500!.errorAnswers = b.slack.calls
        .slice(before)
        .filter((c) => c.status === 500).length;
      expect(totals.http500!.errorAnswers).toBeGreaterThan(0);
    },
    ERRORS_MS + 180_000,
  );

  it(`Slack answering 429 with Retry-After: ${RETRY_AFTER_S} to ${RATE_LIMITED_CALLS} calls in a row`, async () => {
    const before = b.slack.calls.length;
    const responsesBefore = b.slack.responses.length;
    // Every request counts: Web API calls and replies to response_urls alike.
    const rateLimited = () =>
      b.slack.calls.slice(before).filter((c) => c.status === 429).length +
      b.slack.responses.slice(responsesBefore).filter((r) => r.status === 429).length;
    const { runIds } = await scenario(
      'ratelimited',
      () =>
        b.slack.fail('*', { error: 'ratelimited', retryAfter: RETRY_AFTER_S }, RATE_LIMITED_CALLS),
      async () => {
        await waitUntil(
          () => rateLimited() >= RATE_LIMITED_CALLS,
          `${RATE_LIMITED_CALLS} calls answered 429`,
          RATE_LIMITED_CALLS * (RETRY_AFTER_S + 2) * 1000 + 30_000,
        );
      },
    );
    // After a 429 for a run's message, the next call for it waits Retry-After.
    const calls = b.slack.calls.slice(before).filter((c) => c.method.startsWith('chat.'));
    let checked = 0;
    let early = 0;
    for (const runId of runIds) {
      const mine = calls.filter((c) => runOfCall(c, runIds) === runId);
      mine.forEach((call, i) => {
        const next = mine[i + 1];
        if (call.status !== 429 || next === undefined) return;
        checked += 1;
        if (next.at - call.at < RETRY_AFTER_S * 1000 - 50) early += 1;
      });
    }
    totals.ratelimited!.rateLimitedAnswers = rateLimited();
    totals.ratelimited!.retryAfterChecked = checked;
    totals.ratelimited!.retryAfterIgnored = early;
    expect(checked).toBeGreaterThan(0);
    expect(early).toBe(0);
  }, 240_000);
});

afterAll(() => {
  const sum = (key: keyof Totals) => Object.values(totals).reduce((n, t) => n + (t[key] ?? 0), 0);
  reportFigures('slack-outage', {
    outageSeconds: OUTAGE_MS / 1000,
    errorSeconds: ERRORS_MS / 1000,
    runs: sum('runs'),
    messages: sum('messages'),
    lost: sum('lost'),
    duplicates: sum('duplicates'),
    wrongFinalState: sum('wrongFinalState'),
    ...Object.fromEntries(
      Object.entries(totals).flatMap(([name, t]) =>
        Object.entries(t).map(([k, v]) => [`${name}.${k}`, v]),
      ),
    ),
  });
});
