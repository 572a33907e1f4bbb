// Item 5: Slack updates during a noisy apply. A run requested with a signed
// /deploy to a real `deploy-bot serve`, approved and applied with signed clicks
// on its message; its apply prints lines continuously for ~10 s. From the fake
// Slack's record of calls: the chat.update calls of the run's message (gaps,
// most in any 1 s) and the delay from the run's end to the update that shows
// its final state. Then 5 such runs at once: the limit is per message.

import { DeployCore } from '../src/core/api/core.ts';
import { STATUS_TABLE } from '../src/core/lifecycle/statuses.ts';
import { type FakeSlack, startFakeSlack } from '../test/support/fake-slack.ts';
import { freshDatabase, sleep, workspace } from './lib/env.ts';
import { type Report, row, type Section } from './lib/report.ts';
import { revision } from './lib/revision.ts';
import {
  clickBody,
  commandBody,
  hasButton,
  postSigned,
  responseUrlOf,
  runIdFromReply,
  runMessage,
  type SlackServe,
  settle,
  shownStatus,
  startSlackServe,
} from './lib/slack.ts';
import { ms, summarize } from './lib/stats.ts';

const APPLY_SECONDS = Number(process.env.BENCH_NOISY_SECONDS ?? 10);
const PARALLEL = Number(process.env.BENCH_NOISY_PARALLEL ?? 5);

function config() {
  const lines = ['deployments:'];
  for (let i = 1; i <= PARALLEL; i++) {
    lines.push(
      `  - name: noisy-${i}`,
      '    environment: production',
      '    approvers: [U0APPROVER]',
      '    source: { kind: directory, path: ./app }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 5m }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  // 10 lines every 10 ms (1,000 lines/s) for APPLY_SECONDS.
  'app/apply.sh': `#!/bin/sh\nexec node -e 'let i = 0; const end = Date.now() + ${APPLY_SECONDS * 1000}; const t = setInterval(() => { let s = ""; for (let k = 0; k < 10; k++) s += "applying: resource " + (i++) + " updated in place, waiting for it to settle\\n"; process.stdout.write(s); if (Date.now() >= end) clearInterval(t); }, 10)'\n`,
};

type Measured = {
  runId: string;
  /** chat.update calls of the message while the run applied. */
  duringApply: number[];
  /** Gaps between consecutive chat.update calls of the message (whole life). */
  gaps: number[];
  /** Most chat.update calls of the message in any 1 s window. */
  maxPerSecond: number;
  /** Run finished → first chat.update showing its final status. */
  finalDelay: number;
  applySeconds: number;
  withLog: number;
};

function maxInWindow(times: readonly number[], windowMs: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

async function measureRun(core: DeployCore, slack: FakeSlack, runId: string): Promise<Measured> {
  const run = await core.getRun(runId);
  const audit = await core.transitions(runId);
  const applyingAt = Date.parse(audit.find((t) => t.to === 'applying')!.at);
  const finishedAt = Date.parse(run.finishedAt!);
  const message = runMessage(slack, runId)!;
  const updates = slack
    .callsTo('chat.update')
    .filter((c) => c.args.ts === message.ts && c.args.channel === message.channel)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  const gaps = updates.slice(1).map((t, i) => t - updates[i]!);
  const finalLabel = STATUS_TABLE[run.status].label;
  const final = message.versions.find(
    (v) => v.method === 'chat.update' && v.at >= finishedAt && shownStatus(v) === finalLabel,
  );
  const during = message.versions.filter(
    (v) => v.method === 'chat.update' && v.at >= applyingAt && v.at <= finishedAt,
  );
  return {
    runId,
    duringApply: updates.filter((t) => t >= applyingAt && t <= finishedAt),
    gaps,
    maxPerSecond: maxInWindow(updates, 1000),
    finalDelay: final ? final.at - finishedAt : Number.NaN,
    applySeconds: (finishedAt - applyingAt) / 1000,
    withLog: during.filter((v) => JSON.stringify(v.blocks ?? []).includes('applying: resource'))
      .length,
  };
}

async function noisyRuns(
  serve: SlackServe,
  slack: FakeSlack,
  core: DeployCore,
  count: number,
): Promise<Measured[]> {
  const ids: string[] = [];
  for (let i = 1; i <= count; i++) {
    const body = commandBody(slack, `noisy-${i}`);
    const answer = await postSigned(serve.eventsUrl, body);
    if (answer.status !== 200) throw new Error(`/deploy answered ${answer.status}`);
    ids.push(await runIdFromReply(slack, responseUrlOf(body)));
  }
  const click = async (runId: string, actionId: string) => {
    const message = await slack.waitFor(() => {
      const m = runMessage(slack, runId);
      return m && hasButton(m, actionId) ? m : null;
    }, 60_000);
    const answer = await postSigned(serve.eventsUrl, clickBody(slack, message, actionId));
    if (answer.status !== 200) throw new Error(`the click answered ${answer.status}`);
  };
  await Promise.all(ids.map((id) => click(id, 'approve_plan')));
  await Promise.all(ids.map((id) => click(id, 'confirm_apply')));
  for (const id of ids) {
    for (;;) {
      const run = await core.getRun(id);
      if (run.finishedAt !== null) {
        if (run.status !== 'completed') throw new Error(`${id} ended ${run.status}: ${run.error}`);
        break;
      }
      await sleep(100);
    }
  }
  await settle(slack, 3000);
  const out: Measured[] = [];
  for (const id of ids) out.push(await measureRun(core, slack, id));
  return out;
}

function report(section: Section, label: string, runs: readonly Measured[]) {
  const gaps = runs.flatMap((r) => r.gaps);
  const g = summarize(gaps);
  const during = runs.reduce((n, r) => n + r.duringApply.length, 0);
  const applySeconds = Math.max(...runs.map((r) => r.applySeconds));
  const perMessage = runs.map((r) => r.duringApply.length / r.applySeconds);
  const maxPerSecond = Math.max(...runs.map((r) => r.maxPerSecond));
  row(
    section,
    `${label}: chat.update calls of the run message${runs.length > 1 ? 's' : ''} during the apply`,
    `${during} in ${applySeconds.toFixed(1)} s (${(during / applySeconds).toFixed(2)}/s in all; ${Math.min(...perMessage).toFixed(2)}–${Math.max(...perMessage).toFixed(2)}/s per message); ${runs.reduce((n, r) => n + r.withLog, 0)} of them show log lines`,
  );
  row(
    section,
    `${label}: most chat.update calls of one message in any 1 s`,
    String(maxPerSecond),
    '≤ 1',
    maxPerSecond <= 1,
  );
  row(
    section,
    `${label}: gap between consecutive chat.update of one message, min / p50 / p95 / max (n=${g.n})`,
    `${ms(g.min)} / ${ms(g.p50)} / ${ms(g.p95)} / ${ms(g.max)}`,
    '≥ 1000 ms',
    g.min >= 1000,
  );
  const finals = runs.map((r) => r.finalDelay);
  const worst = Math.max(...finals);
  row(
    section,
    `${label}: run finished → chat.update showing the final state${runs.length > 1 ? ' (each run)' : ''}`,
    finals.map((f) => ms(f)).join(', '),
    '≤ 2 s',
    Number.isFinite(worst) && worst <= 2000,
  );
}

export async function benchSlackUpdates(report_: Report) {
  const section = report_.section(
    `Slack updates during a noisy apply (${APPLY_SECONDS} s of 1,000 lines/s): one run, then ${PARALLEL} at once`,
    'npm run bench -- slack-updates',
  );
  const db = await freshDatabase('slack');
  const ws = workspace(config(), FILES);
  const slack = await startFakeSlack();
  let serve: SlackServe | null = null;
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  try {
    serve = await startSlackServe(ws, db.url, slack);
    report(section, 'one run', await noisyRuns(serve, slack, core, 1));
    report(section, `${PARALLEL} runs at once`, await noisyRuns(serve, slack, core, PARALLEL));
    section.notes.push(
      `Each run is requested with a signed \`/deploy noisy-N\` to a real \`deploy-bot serve\` (Slack Web API = the tests' fake Slack in the benchmark process), then approved and applied with signed clicks on the Approve plan and Apply buttons of the message the bot posted. The apply step prints 10 lines every 10 ms for ${APPLY_SECONDS} s.`,
      'chat.update calls are counted for the run message (channel + ts) as the fake Slack received them, with its own clock; "during the apply" is between the run’s `applying` transition and its `finishedAt` (both from the database, same machine). Gaps are between consecutive chat.update calls of one message over its whole life; "any 1 s" is a sliding window.',
      'Final state: the first chat.update of the message, after `finishedAt`, whose status field shows the run’s final status (Completed).',
      `Product at ${revision()}.`,
    );
  } finally {
    await serve?.proc.stop();
    await core.close();
    await slack.close();
    await db.drop();
  }
}
