// A year of history: 1,000,000 finished runs over 500 deployments and
// 20,000,000 log lines (COPY), then the reads people do every day, each
// against the same reads on an empty database in the same run, with a live
// `deploy-bot serve` on each. BENCH_HISTORY_SCALE (default 1) scales the seed
// (0.01: 10,000 runs, 200,000 lines) to try the benchmark on a small machine.

import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { DeployCore } from '../src/core/api/core.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { STATUS_GROUPS } from '../src/core/lifecycle/statuses.ts';
import { pruneHistory } from '../src/core/retention/prune.ts';
import { DEFAULT_RETENTION } from '../src/core/retention/settings.ts';
import { freshDatabase, type Proc, sleep, startDeployBot, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, type Summary, summarize } from './lib/stats.ts';

const SCALE = Number(process.env.BENCH_HISTORY_SCALE ?? 1);
const RUNS = Math.round(1_000_000 * SCALE);
const LINES = Math.round(20_000_000 * SCALE);
const DEPLOYMENTS = 500;
const USERS = 200;
const N = Number(process.env.BENCH_HISTORY_N ?? 200);
const PICKUPS = Number(process.env.BENCH_HISTORY_PICKUPS ?? 30);
const SCRAPES = Number(process.env.BENCH_HISTORY_SCRAPES ?? 10);
const ACTOR = { id: 'U0BENCH', via: 'api' as const };

const deploymentName = (i: number) => `app-${String(i).padStart(3, '0')}`;

function config(): string {
  const lines = ['deployments:'];
  for (let i = 0; i < DEPLOYMENTS; i++) {
    lines.push(
      `  - name: ${deploymentName(i)}`,
      `    environment: ${i % 3 === 0 ? 'production' : 'staging'}`,
      '    approvers: [U0BENCH]',
      '    allowSelfApproval: true',
      '    source: { kind: directory, path: ./app }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  // The first instruction records when the step started; then a log of 150 lines.
  'app/apply.sh':
    '#!/bin/bash\necho "$EPOCHREALTIME" > "$DEPLOY_STATE_DIR/started-$DEPLOY_RUN_ID"\nfor i in $(seq 1 150); do echo "apply output line $i"; done\n',
};

/** COPY text format: backslash, tab, newline, carriage return escaped. */
const field = (v: string) =>
  v
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');

/** The outcome mix of a year: mostly completed, some failed, cancelled, rolled back. */
function outcome(i: number): { kind: string; status: string } {
  const r = (i * 2654435761) % 1000;
  if (r < 10) return { kind: 'destroy', status: 'destroyed' };
  if (r < 700) return { kind: 'execute', status: 'completed' };
  if (r < 740) return { kind: 'execute', status: 'no_changes' };
  if (r < 840) return { kind: 'execute', status: 'failed' };
  if (r < 870) return { kind: 'execute', status: 'rolled_back' };
  if (r < 871) return { kind: 'execute', status: 'rollback_failed' };
  return { kind: 'execute', status: 'cancelled' };
}

async function copyInto(url: string, statement: string, rows: () => Generator<string>) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const writable: Writable = await sql.unsafe(statement).writable();
    async function* chunks() {
      let buffer = '';
      for (const line of rows()) {
        buffer += line;
        if (buffer.length > 1 << 20) {
          yield buffer;
          buffer = '';
        }
      }
      if (buffer) yield buffer;
    }
    await pipeline(Readable.from(chunks()), writable);
  } finally {
    await sql.end();
  }
}

/** Seeds the history with COPY; returns the seconds it took. */
async function seed(url: string, configText: string): Promise<{ runs: number; logs: number }> {
  const loaded = parseConfig(configText, 'deploy.config.yaml');
  const deployments = [...loaded.deployments.values()];
  const configJson = deployments.map((d) => field(JSON.stringify(d)));
  const source = field(
    JSON.stringify({
      kind: 'directory',
      gitRef: null,
      commit: null,
      baseDirectory: null,
      location: './app',
    }),
  );
  const yearMs = 365 * 86_400_000;
  const start = Date.now() - yearMs - 86_400_000;
  const t0 = performance.now();
  await copyInto(
    url,
    'copy runs (id, deployment, environment, kind, status, requested_by, requested_via, variables, secret_variables, source, config, created_at, updated_at, status_since, finished_at) from stdin',
    function* () {
      for (let i = 0; i < RUNS; i++) {
        const d = i % DEPLOYMENTS;
        const { kind, status } = outcome(i);
        const finished = new Date(start + Math.floor((i / RUNS) * yearMs));
        const created = new Date(finished.getTime() - 180_000).toISOString();
        const f = finished.toISOString();
        yield `hist-${i}\t${deploymentName(d)}\t${deployments[d]!.environment}\t${kind}\t${status}\tU0USER${i % USERS}\tslack\t{}\t{}\t${source}\t${configJson[d]}\t${created}\t${f}\t${f}\t${f}\n`;
      }
    },
  );
  const runsSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const perRun = Math.max(1, Math.round(LINES / RUNS));
  await copyInto(
    url,
    'copy run_logs (run_id, phase, stream, line, created_at) from stdin',
    function* () {
      let written = 0;
      for (let i = 0; i < RUNS && written < LINES; i++) {
        const at = new Date(start + Math.floor((i / RUNS) * yearMs)).toISOString();
        for (let j = 0; j < perRun && written < LINES; j++, written++) {
          yield `hist-${i}\texecute\tstdout\tapply output line ${j} of run ${i}: some realistic text\t${at}\n`;
        }
      }
    },
  );
  const logsSeconds = (performance.now() - t1) / 1000;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  // The totals the metrics read (what the backfill migration does on an upgrade).
  await sql.unsafe(`
    insert into metric_totals (metric, labels, value, last_at)
    select 'runs_finished', jsonb_build_object('deployment', deployment, 'environment', environment, 'kind', kind, 'outcome', status),
      count(*), max(finished_at)
    from runs where finished_at is not null group by deployment, environment, kind, status
    on conflict do nothing`);
  await sql.unsafe('vacuum analyze runs');
  await sql.unsafe('vacuum analyze run_logs');
  await sql.end();
  return { runs: runsSeconds, logs: logsSeconds };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function timed(n: number, fn: (i: number) => Promise<unknown>): Promise<Summary> {
  for (let i = 0; i < Math.min(10, n); i++) await fn(i); // warm-up: connections, plans, caches
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return summarize(out);
}

type Measures = Map<string, Summary>;

/** A new run's pickup: apply confirmed → the apply step's first instruction (in the serve process). */
async function pickupSeries(
  core: DeployCore,
  ws: { dataDir: string },
  count: number,
  offset = 0,
): Promise<{ pickups: number[]; lastRun: string }> {
  const pickups: number[] = [];
  let lastRun = '';
  for (let i = 0; i < count + 3; i++) {
    const deployment = deploymentName((offset + i) % DEPLOYMENTS);
    const run = await core.requestRun({ deployment, actor: ACTOR });
    while ((await core.getRun(run.id)).status !== 'awaiting_plan_approval') await sleep(2);
    await core.approvePlan(run.id, ACTOR);
    const t0 = performance.timeOrigin + performance.now();
    await core.confirmApply(run.id, ACTOR);
    const file = path.join(ws.dataDir, 'state', deployment, `started-${run.id}`);
    while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') await sleep(1);
    if (i >= 3) pickups.push(Number(readFileSync(file, 'utf8').trim()) * 1000 - t0);
    while ((await core.getRun(run.id)).status !== 'completed') await sleep(2);
    lastRun = run.id;
  }
  return { pickups, lastRun };
}

async function measure(core: DeployCore, metricsPort: number, ws: { dataDir: string }) {
  const m: Measures = new Map();
  const { pickups, lastRun } = await pickupSeries(core, ws, PICKUPS);
  m.set('pickup', summarize(pickups));

  m.set('list', await timed(N, () => core.listRuns({ limit: 20 })));
  m.set(
    'list --deployment',
    await timed(N, (i) =>
      core.listRuns({ deployment: deploymentName(i % DEPLOYMENTS), limit: 20 }),
    ),
  );
  m.set(
    'list --status failed',
    await timed(N, () => core.listRuns({ statuses: STATUS_GROUPS.failed, limit: 20 })),
  );
  m.set(
    'list --requester',
    await timed(N, (i) => core.listRuns({ requestedBy: `U0USER${i % USERS}`, limit: 20 })),
  );
  m.set('status RUN', await timed(N, () => core.getRun(lastRun)));
  m.set('logs RUN -n 100', await timed(N, () => core.readLogs(lastRun, { tail: 100 })));
  // What the /deploy list and /deploy status listeners ask the core (src/bot/listeners/commands/deploy.ts).
  m.set('/deploy list', await timed(N, () => core.listDeployments(ACTOR)));
  m.set(
    '/deploy status',
    await timed(N, async () => {
      await core.listDeployments(ACTOR);
      await core.listRuns({ statuses: STATUS_GROUPS.active, limit: 200 });
    }),
  );
  // What deploy-tui's runs store loads at start and for a filtered frame (src/tui/data/runs-store.ts).
  m.set(
    'deploy-tui start',
    await timed(Math.min(N, 50), async () => {
      await core.listDeployments();
      await core.listRuns({ statuses: STATUS_GROUPS.all, limit: 1000 });
    }),
  );
  m.set(
    'deploy-tui filtered frame',
    await timed(N, (i) =>
      core.listRuns({
        statuses: STATUS_GROUPS.failed,
        deployment: deploymentName(i % DEPLOYMENTS),
        limit: 1000,
      }),
    ),
  );
  // /metrics of the live serve: spaced past the one-second cache, so each scrape queries.
  const scrapes: number[] = [];
  for (let i = 0; i < SCRAPES + 2; i++) {
    await sleep(1100);
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    await res.text();
    if (i >= 2) scrapes.push(performance.now() - t);
  }
  m.set('/metrics scrape', summarize(scrapes));
  return m;
}

const EXPLAINED: [string, string][] = [
  ['list', 'select * from runs order by seq desc limit 20'],
  [
    'list --deployment',
    "select * from runs where deployment = 'app-007' order by seq desc limit 20",
  ],
  [
    'list --status failed',
    "select * from runs where status in ('failed', 'rolled_back', 'rollback_failed') order by seq desc limit 20",
  ],
  [
    'list --requester',
    "select * from runs where requested_by = 'U0USER7' order by seq desc limit 20",
  ],
  ['status RUN', "select * from runs where id = 'hist-12345'"],
  [
    'logs RUN -n 100',
    "select * from (select * from run_logs where run_id = 'hist-12345' order by id desc limit 100) t order by id",
  ],
  [
    '/deploy list, deploy-tui start (activity)',
    "select deployment, status, count(*) from runs where deployment in ('app-001', 'app-002') and status in ('queued', 'awaiting_plan_approval', 'awaiting_apply_approval') group by 1, 2",
  ],
  [
    'deploy-tui filtered frame',
    "select * from runs where deployment = 'app-007' and status in ('failed', 'rolled_back', 'rollback_failed') order by seq desc limit 1000",
  ],
  [
    '/metrics (runs part)',
    "select status, count(*), min(status_since) from runs where status in ('queued','pending','initializing','planning','awaiting_plan_approval','awaiting_apply_approval','applying','destroying','verifying','rolling_back') group by status",
  ],
];

/** EXPLAIN ANALYZE of each query on the seeded database, one line each: its plan nodes and time. */
async function explain(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  const out: string[] = [];
  try {
    for (const [label, query] of EXPLAINED) {
      const rows = await sql.unsafe<{ 'QUERY PLAN': string }[]>(
        `explain (analyze, buffers) ${query}`,
      );
      const lines = rows.map((r) => r['QUERY PLAN']);
      const nodes = lines
        .filter((l) =>
          /^\s*(->\s*)?([A-Z][A-Za-z ]*)?(Scan|Limit|Sort|Aggregate|Append|Join|Loop|Result|Hash)/.test(
            l,
          ),
        )
        .map((l) =>
          l
            .replace(/^\s*->\s*/, '')
            .replace(/\s*\(cost=.*$/, '')
            .trim(),
        );
      const time = lines
        .find((l) => l.startsWith('Execution Time'))
        ?.replace('Execution Time: ', '');
      out.push(`EXPLAIN ${label}: ${nodes.join(' → ')} (${time})`);
    }
  } finally {
    await sql.end();
  }
  return out;
}

export async function benchHistory(report: Report) {
  const section = report.section(
    `A year of history: ${RUNS.toLocaleString('en-US')} finished runs over ${DEPLOYMENTS} deployments, ${LINES.toLocaleString('en-US')} log lines, against an empty database`,
    `npm run bench -- history${SCALE !== 1 ? ` (BENCH_HISTORY_SCALE=${SCALE})` : ''}`,
  );
  const configText = config();
  const results: Record<'empty' | 'full', Measures> = { empty: new Map(), full: new Map() };
  let seeded = { runs: 0, logs: 0 };
  let explained: string[] = [];
  let pruneBeside: { pickups: Summary; lines: number; seconds: number; finished: boolean } | null =
    null;
  for (const label of ['empty', 'full'] as const) {
    const db = await freshDatabase(`history_${label}`);
    const ws = workspace(configText, FILES);
    let serve: Proc | null = null;
    let core: DeployCore | null = null;
    try {
      if (label === 'full') {
        process.stdout.write(`  seeding ${RUNS} runs and ${LINES} log lines with COPY…\n`);
        seeded = await seed(db.url, configText);
      }
      const metricsPort = await freePort();
      serve = await startDeployBot('serve', ws, db.url, {
        METRICS_PORT: String(metricsPort),
        METRICS_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      });
      core = await DeployCore.open({
        databaseUrl: db.url,
        dataDir: ws.dataDir,
        config: ws.configFile,
        migrate: false,
      });
      await sleep(500);
      results[label] = await measure(core, metricsPort, ws);
      if (label === 'full') {
        explained = await explain(db.url);
        // Retention's pass over the year (logs past 90 days) while runs go on.
        let stop = false;
        const started = performance.now();
        const pass = pruneHistory(core.connection.sql, DEFAULT_RETENTION, {
          shouldStop: () => stop,
        });
        let passDone = false;
        void pass.finally(() => {
          passDone = true;
        });
        const during = await pickupSeries(core, ws, PICKUPS, 1000);
        const duringMs = performance.now() - started;
        stop = true;
        const pruned = await pass;
        pruneBeside = {
          pickups: summarize(during.pickups),
          lines: pruned.runLogs.lines,
          seconds: duringMs / 1000,
          finished: passDone && pruned.stoppedEarly === null,
        };
      }
    } finally {
      await core?.close();
      await serve?.stop();
      await db.drop();
    }
  }
  row(
    section,
    'seed with COPY: runs / log lines',
    `${seeded.runs.toFixed(1)} s / ${seeded.logs.toFixed(1)} s`,
    'minutes, not hours',
    seeded.runs + seeded.logs < 3600,
  );
  for (const [name, full] of results.full) {
    const empty = results.empty.get(name)!;
    const ratio = full.p99 / empty.p99;
    const p50ratio = full.p50 / empty.p50;
    const goal = name === 'list' ? 'p99 ≤ 1.5× and < 20 ms' : 'p99 ≤ 1.5×';
    const ok = ratio <= 1.5 && (name !== 'list' || full.p99 < 20);
    row(
      section,
      `${name}: p50 / p99, history vs empty (n=${full.n})`,
      `${ms(full.p50)} / ${ms(full.p99)} vs ${ms(empty.p50)} / ${ms(empty.p99)}: ${ratio.toFixed(2)}× p99 (${p50ratio.toFixed(2)}× p50)`,
      goal,
      ok,
    );
  }
  if (pruneBeside) {
    const base = results.full.get('pickup')!;
    const ratio = pruneBeside.pickups.p99 / base.p99;
    row(
      section,
      `pickup while retention prunes logs past 90 days (n=${pruneBeside.pickups.n}): p50 / p99`,
      `${ms(pruneBeside.pickups.p50)} / ${ms(pruneBeside.pickups.p99)} vs ${ms(base.p50)} / ${ms(base.p99)} without: ${ratio.toFixed(2)}× p99; ${pruneBeside.lines.toLocaleString('en-US')} lines removed meanwhile${pruneBeside.finished ? ' (the whole pass)' : ' (the pass went on after the pickups)'}`,
      'p99 ≤ 1.2×',
      ratio <= 1.2,
    );
  }
  section.notes.push(
    'Each database gets a live `deploy-bot serve` (its in-process workers run the pickups; its METRICS_PORT answers the scrapes); the benchmark process reads through the core API (`DeployCore`), as the CLI, the Slack listeners (`/deploy list`: listDeployments; `/deploy status`: listDeployments + the active runs) and deploy-tui (start: listDeployments + the 1,000 newest runs; a filtered frame: status group failed and one deployment) do; rendering is the same work on both databases.',
    'Pickup: from confirmApply() in the benchmark process to the first instruction of the apply step in the serve process. `status RUN` and `logs RUN -n 100` read a run made during the benchmark (150 log lines) on both databases.',
    'Indexes (drizzle/0004_retention_history_indexes.sql, 0005_runs_seq_index.sql, 0006_runs_deployment_status_seq.sql): runs (seq), (deployment, seq), (status, seq), (requested_by, seq), (deployment, status, seq); retention: runs (finished_at) where logs/artifacts not pruned, (deployment, finished_at) where completed.',
    ...explained,
  );
}
