// The API (issue 13): GET of a run over /api/v1 on a real `deploy-bot serve`
// (token check and all) against a bare node:http server answering the same JSON
// in the same run; and how late a log line reaches a remote SSE follower.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeployCore } from '../src/core/api/core.ts';
import { httpPort } from '../src/core/api/http-client.ts';
import { issueToken } from '../src/core/auth/tokens.ts';
import {
  freePort,
  freshDatabase,
  type Proc,
  sleep,
  startDeployBot,
  waitForHttp,
  workspace,
} from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 3000);
const FOLLOW_LINES = 4000;

const CONFIG = `deployments:
  - name: ticker
    approvers: [U0BENCH]
    allowSelfApproval: true
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./tick.sh, timeout: 10m }
`;
const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  // 1,000 lines a second for 4 seconds, each carrying the time it was printed.
  'app/tick.sh': `#!/bin/sh\nexec node -e 'let i = 0; const t = setInterval(() => { let s = ""; for (let k = 0; k < 10; k++) { s += "ts=" + (performance.timeOrigin + performance.now()) + " line " + i++ + "\\n"; } process.stdout.write(s); if (i >= ${FOLLOW_LINES}) { clearInterval(t); } }, 10)'\n`,
};

/** Sequential GETs over one keep-alive connection; per-request latency in ms. */
async function latencies(
  url: string,
  headers: Record<string, string>,
  n: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

export async function benchApi(report: Report) {
  const section = report.section(
    'The API: GET a run, and a live log over SSE',
    'npm run bench -- api',
  );
  const db = await freshDatabase('api');
  const ws = workspace(CONFIG, FILES);
  let serve: Proc | null = null;
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  const bare = createServer();
  try {
    const port = await freePort();
    serve = await startDeployBot('serve', ws, db.url, { PORT: String(port), HOST: '127.0.0.1' });
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
    const { secret } = await issueToken(core.db, {
      userId: 'U0BENCH',
      name: 'bench',
      issuedBy: 'bench',
    });
    const run = await core.requestRun({
      deployment: 'ticker',
      actor: { id: 'U0BENCH', via: 'api' },
    });
    while ((await core.getRun(run.id)).status !== 'awaiting_plan_approval') await sleep(10);
    const json = JSON.stringify(await core.getRun(run.id));
    bare.on('request', (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(json),
      });
      res.end(json);
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/api/v1/runs/${run.id}`;
    const apiUrl = `http://127.0.0.1:${port}/api/v1/runs/${run.id}`;
    const auth = { authorization: `Bearer ${secret}` };
    // Warm up both, then alternate blocks so both see the same machine load.
    await latencies(apiUrl, auth, 200);
    await latencies(bareUrl, {}, 200);
    const api: number[] = [];
    const plain: number[] = [];
    for (let i = 0; i < 10; i++) {
      api.push(...(await latencies(apiUrl, auth, REQUESTS / 10)));
      plain.push(...(await latencies(bareUrl, {}, REQUESTS / 10)));
    }
    const a = summarize(api);
    const b = summarize(plain);
    row(
      section,
      `GET /api/v1/runs/ID through serve, p50 / p99 (${a.n} requests, one connection)`,
      `${ms(a.p50)} / ${ms(a.p99)}`,
    );
    row(
      section,
      'bare node:http answering the same JSON, p50 / p99',
      `${ms(b.p50)} / ${ms(b.p99)}`,
    );
    row(
      section,
      'p99 ratio (API / bare)',
      `${(a.p99 / b.p99).toFixed(2)}×`,
      '≤ 2×',
      a.p99 / b.p99 <= 2,
    );

    // A log line → a remote follower over SSE (the HTTP client's followLogs).
    const port2 = httpPort({ server: `http://127.0.0.1:${port}`, token: secret, client: 'cli' });
    const delays: number[] = [];
    let seen = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const stop = await port2.followLogs(run.id, (lines) => {
      const now = performance.timeOrigin + performance.now();
      for (const l of lines) {
        const m = /^ts=(\d+(?:\.\d+)?)/.exec(l.line);
        if (!m) continue;
        delays.push(now - Number(m[1]));
        if (++seen >= FOLLOW_LINES) done();
      }
    });
    await core.approvePlan(run.id, { id: 'U0BENCH', via: 'api' });
    await core.confirmApply(run.id, { id: 'U0BENCH', via: 'api' });
    await Promise.race([finished, sleep(60_000)]);
    await stop();
    await port2.close();
    const s = summarize(delays);
    row(
      section,
      `line → remote SSE follower, p95 (${s.n} lines at 1,000/s)`,
      ms(s.p95),
      '≤ 250 ms',
      s.p95 <= 250,
    );
    row(section, 'p50 / p99 / max', `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`);
    section.notes.push(
      'GET: sequential requests from this process over one keep-alive connection, alternating blocks of the two servers. Through serve the request reaches its HTTP front thread (which owns PORT) and crosses to the main thread over the thread’s MessagePort, which checks the token and reads the run (run, plan and approvals in one statement, started together with the token check) and sends the answer back whole in one message; the bare server answers the same bytes from memory.',
      'The token check: PostgreSQL (rate-limit row and token hash in one query) at most once a second per token and client address; in between, the acceptance it gave is reused (src/core/auth/token-cache.ts: a revocation drops it at once in this process, by NOTIFY in others, and after 1 s whatever happens).',
      'SSE: the step prints lines with their own timestamp; the follower is the HTTP client (src/core/api/http-client.ts) in this process, over /api/v1/runs/ID/logs/stream of a real serve.',
      'deploy-tui frames over the API against local ones: `npm run bench -- tui-api`.',
    );
  } finally {
    bare.close();
    await serve?.stop();
    await core.close();
    await db.drop();
  }
}
