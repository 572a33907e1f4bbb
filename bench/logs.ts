// Item 4: log ingest (1,000,000 lines from one apply step, through a real
// `deploy-bot serve`), compared with a raw COPY of the same lines into the same
// table in the same run; and the delay until a follower in another process sees a line.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import postgres from 'postgres';
import { DeployCore } from '../src/core/api/core.ts';
import { freshDatabase, type Proc, sleep, startDeployBot, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, type Summary } from './lib/stats.ts';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 1_000_000);
const FOLLOW_LINES = 20_000;

const CONFIG = `deployments:
  - name: noisy
    approvers: [U0BENCH]
    allowSelfApproval: true
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 10m }
  - name: ticker
    approvers: [U0BENCH]
    allowSelfApproval: true
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./tick.sh, timeout: 10m }
`;
const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': `#!/bin/sh\nawk 'BEGIN { for (i = 0; i < ${LINES}; i++) print "deploy step output line " i " of a noisy apply, with some text to make it realistic" }'\n`,
  // 5,000 lines a second for 4 seconds, each carrying the time it was printed.
  'app/tick.sh': `#!/bin/sh\nexec node -e 'let i = 0; const t = setInterval(() => { let s = ""; for (let k = 0; k < 50; k++) { s += "ts=" + (performance.timeOrigin + performance.now()) + " line " + i++ + "\\n"; } process.stdout.write(s); if (i >= ${FOLLOW_LINES}) { clearInterval(t); } }, 10)'\n`,
};

async function approveAndApply(core: DeployCore, runId: string) {
  const actor = { id: 'U0BENCH', via: 'api' as const };
  while ((await core.getRun(runId)).status !== 'awaiting_plan_approval') await sleep(5);
  await core.approvePlan(runId, actor);
  await core.confirmApply(runId, actor);
}

export async function benchLogs(report: Report) {
  const section = report.section(
    `Log ingest: one apply step printing ${LINES.toLocaleString('en')} lines`,
    'npm run bench -- logs',
  );
  const db = await freshDatabase('logs');
  const ws = workspace(CONFIG, FILES);
  let serve: Proc | null = null;
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  const actor = { id: 'U0BENCH', via: 'api' as const };
  try {
    serve = await startDeployBot('serve', ws, db.url);
    // 1. Through the product.
    const run = await core.requestRun({ deployment: 'noisy', actor });
    await approveAndApply(core, run.id);
    while ((await core.getRun(run.id)).status !== 'completed') await sleep(50);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const [stats] = await sql<{ n: number; first: Date; last: Date }[]>`
      select count(*)::int as n, min(created_at) as first, max(created_at) as last
      from run_logs where run_id = ${run.id} and stream = 'stdout'`;
    const audit = await core.transitions(run.id);
    const applyingAt = Date.parse(audit.find((t) => t.to === 'applying')!.at);
    const completedAt = Date.parse(audit.find((t) => t.to === 'completed')!.at);
    const ingestSeconds = (completedAt - applyingAt) / 1000;
    const rate = stats!.n / ingestSeconds;
    row(
      section,
      'lines persisted',
      `${stats!.n.toLocaleString('en')} of ${LINES.toLocaleString('en')}`,
      'all',
      stats!.n === LINES,
    );
    row(
      section,
      'ingest rate (apply confirmed → run completed)',
      `${Math.round(rate).toLocaleString('en')} lines/s (${ingestSeconds.toFixed(2)} s)`,
      '≥ 50,000 lines/s',
      rate >= 50_000,
    );

    // 2. Raw COPY of the same lines into the same table, same run.
    const rows: string[] = [];
    for (let i = 0; i < LINES; i++)
      rows.push(
        `copy-baseline\texecute\tstdout\tdeploy step output line ${i} of a noisy apply, with some text to make it realistic\n`,
      );
    const t0 = performance.now();
    const stream = await sql`copy run_logs (run_id, phase, stream, line) from stdin`.writable();
    for (let i = 0; i < rows.length; i += 10_000) {
      if (!stream.write(rows.slice(i, i + 10_000).join(''))) await once(stream, 'drain');
    }
    stream.end();
    await once(stream, 'finish');
    const copySeconds = (performance.now() - t0) / 1000;
    const copyRate = LINES / copySeconds;
    row(
      section,
      'raw COPY of the same lines (same table, same run)',
      `${Math.round(copyRate).toLocaleString('en')} lines/s (${copySeconds.toFixed(2)} s)`,
    );
    row(
      section,
      'ingest / raw COPY',
      `${(rate / copyRate).toFixed(2)}×`,
      '≥ 0.5×',
      rate / copyRate >= 0.5,
    );
    await sql.end();
    const serveRss = serve.peakRss() / 2 ** 20;
    row(
      section,
      'deploy-bot serve peak RSS during ingest',
      `${serveRss.toFixed(0)} MB`,
      '< 250 MB',
      serveRss < 250,
    );

    // 3. Follower latency, in another process.
    const tick = await core.requestRun({ deployment: 'ticker', actor });
    while ((await core.getRun(tick.id)).status !== 'awaiting_plan_approval') await sleep(5);
    const follower = spawn(
      process.execPath,
      [
        path.join(import.meta.dirname, 'follower.ts'),
        db.url,
        ws.configFile,
        ws.dataDir,
        tick.id,
        String(FOLLOW_LINES),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    follower.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
    });
    while (!out.includes('following')) await sleep(10);
    await core.approvePlan(tick.id, actor);
    await core.confirmApply(tick.id, actor);
    await once(follower, 'exit');
    const summary = JSON.parse(out.trim().split('\n').at(-1)!) as Summary;
    row(
      section,
      `line → follower in another process, p95 (${summary.n.toLocaleString('en')} lines at 5,000/s)`,
      ms(summary.p95),
      '≤ 250 ms',
      summary.p95 <= 250,
    );
    row(section, 'p50 / p99 / max', `${ms(summary.p50)} / ${ms(summary.p99)} / ${ms(summary.max)}`);
    section.notes.push(
      'The step is `awk` printing the lines as fast as it can; `deploy-bot serve` reads them from the pipe, redacts them, and writes them with COPY in batches that grow while the previous batch is being written (the step is paused when 50,000 lines are waiting).',
      'Follower delay: from the moment the step printed the line (its own timestamp in the line) to the moment a `DeployCore.followLogs` subscriber in a separate process received it (woken by NOTIFY, never polling).',
    );
  } finally {
    await serve?.stop();
    await core.close();
    await db.drop();
  }
}
