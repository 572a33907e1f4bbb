// Item 1: ack latency of `/deploy NAME` and of a button click through the real
// HTTP receiver of `deploy-bot serve` (workers, database and outbox all real,
// Slack Web API faked in this process), at 1 and 50 requests per second, open
// loop, against a bare Bolt app that only acks, measured in the same run.

import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import postgres from 'postgres';
import { type FakeSlack, startFakeSlack } from '../test/support/fake-slack.ts';
import { freshDatabase, sleep, workspace } from './lib/env.ts';
import { type LoadResult, runLoad } from './lib/load.ts';
import { type Report, row, type Section } from './lib/report.ts';
import {
  clickBody,
  commandBody,
  freePort,
  hasButton,
  postSigned,
  responseUrlOf,
  runIdOf,
  SIGNING_SECRET,
  type SlackServe,
  settle,
  startSlackServe,
} from './lib/slack.ts';
import { ms, summarize } from './lib/stats.ts';

const DEPLOYMENTS = 10;
const SLOW_N = Number(process.env.BENCH_ACK_SLOW_N ?? 60);
const FAST_N = Number(process.env.BENCH_ACK_FAST_N ?? 500);

function config() {
  const lines = ['deployments:'];
  for (let i = 0; i < DEPLOYMENTS; i++) {
    lines.push(
      `  - name: web-${i}`,
      '    environment: production',
      '    approvers: [U0APPROVER]',
      '    source: { kind: directory, path: ./app }',
      '    variables:',
      '      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$" }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const FILES = {
  'app/plan.sh': `#!/bin/sh\necho "planning $DEPLOY_VAR_image_tag"\necho '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': '#!/bin/sh\necho applied\n',
};

type Bare = { url: string; stop(): Promise<void> };

async function startBareBolt(slack: FakeSlack): Promise<Bare> {
  const port = await freePort();
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=8')
    .split(' ')
    .filter(Boolean);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...nodeArgs,
      path.join(import.meta.dirname, 'lib', 'bare-bolt.ts'),
      String(port),
      SIGNING_SECRET,
      slack.url,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      if (c.includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bare Bolt exited with ${code}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Run messages in the channel that have a button, newest last. */
function clickable(slack: FakeSlack) {
  return slack
    .channelMessages('C0DEPLOYS')
    .filter(
      (m) =>
        m.threadTs === null &&
        runIdOf(m) !== null &&
        (hasButton(m, 'approve_plan') || hasButton(m, 'cancel_run')),
    );
}

function clickBodies(slack: FakeSlack, n: number): string[] {
  const pool = clickable(slack).slice(-40);
  if (pool.length === 0) throw new Error('no run message with a button to click');
  return Array.from({ length: n }, (_, i) => {
    const m = pool[i % pool.length]!;
    return clickBody(slack, m, hasButton(m, 'approve_plan') ? 'approve_plan' : 'cancel_run');
  });
}

let tag = 0;
function commandBodies(slack: FakeSlack, n: number): string[] {
  return Array.from({ length: n }, () => {
    tag++;
    return commandBody(slack, `web-${tag % DEPLOYMENTS} image_tag=1.${tag}.0`);
  });
}

type Pair = { ours: LoadResult; bare: LoadResult };

function compare(section: Section, label: string, pair: Pair) {
  const o = summarize(pair.ours.latencies);
  const b = summarize(pair.bare.latencies);
  const bad = (r: LoadResult) =>
    Object.entries(r.statuses)
      .filter(([s]) => s !== '200')
      .map(([s, n]) => `${n}× ${s}`)
      .join(', ');
  const oursBad = bad(pair.ours);
  const bareBad = bad(pair.bare);
  row(
    section,
    `${label}: deploy-bot p50 / p95 / p99 (n=${o.n})`,
    `${ms(o.p50)} / ${ms(o.p95)} / ${ms(o.p99)}${oursBad ? ` (non-200: ${oursBad})` : ''}`,
    'p99 ≤ 50 ms',
    o.p99 <= 50 && !oursBad,
  );
  row(
    section,
    `${label}: bare Bolt p50 / p95 / p99 (n=${b.n})`,
    `${ms(b.p50)} / ${ms(b.p95)} / ${ms(b.p99)}${bareBad ? ` (non-200: ${bareBad})` : ''}`,
  );
  const r99 = o.p99 / b.p99;
  row(
    section,
    `${label}: deploy-bot / bare, p99 (p50)`,
    `${r99.toFixed(2)}× (${(o.p50 / b.p50).toFixed(2)}×); max ${ms(o.max)} vs ${ms(b.max)}`,
    'p99 ≤ 1.5×',
    r99 <= 1.5,
  );
}

export async function benchAck(report: Report) {
  const section = report.section(
    'Ack latency of /deploy and button clicks through the HTTP receiver',
    'npm run bench -- ack',
  );
  const db = await freshDatabase('ack');
  const ws = workspace(config(), FILES);
  const slack = await startFakeSlack();
  let serve: SlackServe | null = null;
  let bare: Bare | null = null;
  try {
    serve = await startSlackServe(ws, db.url, slack);
    bare = await startBareBolt(slack);
    const ours = serve.eventsUrl;
    const bareUrl = bare.url;

    // Runs with messages to click on (they also warm deploy-bot up).
    for (const body of commandBodies(slack, 2 * DEPLOYMENTS)) {
      const answer = await postSigned(ours, body);
      if (answer.status !== 200) throw new Error(`/deploy answered ${answer.status}`);
    }
    await slack.waitFor(() => clickable(slack).length >= 2 * DEPLOYMENTS || null, 60_000);
    await settle(slack);

    const createdBefore = async () => {
      const sql = postgres(db.url, { max: 1, onnotice: () => {} });
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from runs`;
      await sql.end();
      return r!.n;
    };

    const phase = async (
      kind: 'command' | 'click',
      rate: number,
      n: number,
    ): Promise<Pair & { runs: number; accepted: number }> => {
      const make = (k: number) =>
        kind === 'command' ? commandBodies(slack, k) : clickBodies(slack, k);
      // Bare first, then ours, each alone on the machine with a quiet deploy-bot.
      await settle(slack);
      const bareResult = await runLoad({
        url: bareUrl,
        secret: SIGNING_SECRET,
        rate,
        bodies: make(n),
        warmup: make(20),
      });
      await settle(slack);
      const runs0 = await createdBefore();
      const bodies = make(n);
      const warmup = make(10);
      const oursResult = await runLoad({ url: ours, secret: SIGNING_SECRET, rate, bodies, warmup });
      await settle(slack, 1500, 120_000);
      const runs1 = await createdBefore();
      // What deploy-bot did after each ack: a reply on the response_url.
      const accepted = bodies.filter((b) => slack.responsesFor(responseUrlOf(b)).length > 0).length;
      return { ours: oursResult, bare: bareResult, runs: runs1 - runs0, accepted };
    };

    const notes: string[] = [];
    for (const [rate, n] of [
      [1, SLOW_N],
      [50, FAST_N],
    ] as const) {
      for (const kind of ['command', 'click'] as const) {
        process.stdout.write(`  … ${kind} at ${rate} rps\n`);
        const result = await phase(kind, rate, n);
        compare(section, `${kind === 'command' ? '/deploy' : 'click'} at ${rate} rps`, result);
        notes.push(
          kind === 'command'
            ? `/deploy at ${rate} rps: ${result.runs} runs created for ${n} + 10 warm-up commands, ${result.accepted} of ${n} measured commands answered on their response_url; the load generator's worst lag behind its schedule was ${ms(result.ours.maxLag)}.`
            : `Clicks at ${rate} rps: ${result.accepted} of ${n} measured clicks answered on their response_url (a refusal is answered there; an accepted click is not); worst lag behind the schedule ${ms(result.ours.maxLag)}.`,
        );
        await sleep(500);
      }
    }
    section.notes.push(
      `\`deploy-bot serve\` (its workers, PostgreSQL, the outbox; Slack Web API = the tests' fake Slack in the benchmark process) and a bare Bolt 5.1 App (default HTTPReceiver; \`app.command('/deploy')\` and \`app.action(/.*/)\` that only \`ack()\`) in separate processes, both started with \`${process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=8'}\` as \`npm start\` runs deploy-bot.`,
      'Latency: from `http.request()` to the end of the HTTP answer (the ack), measured in a separate load-generator process over a keep-alive agent; requests are signed just before sending (outside the timing) and sent open loop, on schedule, whether or not the previous ones were answered.',
      `Commands are valid \`/deploy web-N image_tag=…\` over ${DEPLOYMENTS} deployments: each creates a real run (planned by the serve process's own workers, or queued behind its deployment's run) and its channel message. Clicks are block_actions payloads built from the run messages the bot posted to the fake Slack (Approve plan where shown, else Cancel, as ${'`U0APPROVER`'}): the first click on a message acts, later ones on the same (now outdated) message are refused and the message redelivered.`,
      'Each phase: the bare app first, then deploy-bot, each after the fake Slack has been quiet for a second (deploy-bot done with the previous phase), with 10-20 warm-up requests sent one by one before the measured ones. p99 of 60 requests is their maximum.',
      ...notes,
    );
  } finally {
    await bare?.stop();
    await serve?.proc.stop();
    await slack.close();
    await db.drop();
  }
}
