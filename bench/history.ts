// A year of history: 1,000,000 finished runs over 500 deployments and
// 20,000,000 log lines (COPY), then the reads people do every day, each
// against the same reads on a small database in the same run, with a live
// `deploy-bot serve` on each. The small database holds no history: only the
// runs each measured read returns (bench/lib/history-seed.ts), so both answer
// the same pages and a ratio says what the history costs, not what a bigger
// answer costs. BENCH_HISTORY_SCALE (default 1) scales the seed (0.01: 10,000
// runs, 200,000 lines) to try the benchmark on a small machine.

import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { DeployCore } from '../src/core/api/core.ts';
import type { RunView } from '../src/core/api/types.ts';
import { STATUS_GROUPS } from '../src/core/lifecycle/statuses.ts';
import { pruneHistory } from '../src/core/retention/prune.ts';
import { DEFAULT_RETENTION, describePace } from '../src/core/retention/settings.ts';
import { freePort, freshDatabase, sleep, startDeployBot, workspace } from './lib/env.ts';
import {
  DEPLOYMENTS,
  deploymentName,
  historyConfig,
  LINES,
  PAGES,
  pageRunIndexes,
  RUNS,
  requesterName,
  SCALE,
  type Seeded,
  seedHistory,
} from './lib/history-seed.ts';
import { type Report, row } from './lib/report.ts';
import { bootstrapInterval, ms, type Summary, summarize } from './lib/stats.ts';

const N = Number(process.env.BENCH_HISTORY_N ?? 3000);
/** Samples of the sub-millisecond reads (status, logs): their p99 is one stall's length. */
const N_FAST = Number(process.env.BENCH_HISTORY_N_FAST ?? 10_000);
const PICKUPS = Number(process.env.BENCH_HISTORY_PICKUPS ?? 100);
/** Pickups without and then with retention's pass, on the seeded database: p99 is not the slowest one. */
const PRUNE_PICKUPS = Number(process.env.BENCH_HISTORY_PRUNE_PICKUPS ?? 200);
const SCRAPES = Number(process.env.BENCH_HISTORY_SCRAPES ?? 10);
const ACTOR = { id: 'U0BENCH', via: 'api' as const };

const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  // The first instruction records when the step started; then a log of 150 lines.
  'app/apply.sh':
    '#!/bin/bash\necho "$EPOCHREALTIME" > "$DEPLOY_STATE_DIR/started-$DEPLOY_RUN_ID"\nfor i in $(seq 1 150); do echo "apply output line $i"; done\n',
};

type Measure = {
  readonly summary: Summary;
  /** Each sample, for the bootstrap interval of the p99 ratio. */
  readonly times: readonly number[];
  /** What the reads answered (the seeded runs of each page), to check both databases answer the same. */
  readonly answers: string | null;
};

/** The seeded runs a list answered, in order, and how many runs it held. */
const answerOf = (runs: readonly RunView[]) =>
  `${runs.length}:${runs
    .filter((r) => r.id.startsWith('hist-'))
    .map((r) => r.id.slice(5))
    .join(',')}`;

/** One database with its live serve, and the core the benchmark reads through. */
type Side = {
  readonly core: DeployCore;
  readonly ws: { dataDir: string };
  readonly metricsPort: number;
};
type Pair = { readonly small: Side; readonly full: Side };
type Compared = { readonly small: Measure; readonly full: Measure };

/** Blocks per measure: the two databases take turns, so that the machine's other work weighs on both alike. */
const BLOCKS = 10;
/** Pickups per block beside retention: the pass starts and stops every 20 pickups. */
const PRUNE_BLOCK = 20;

/**
 * `fn` n times on each database, in alternating blocks, after a warm-up on
 * each (connections, plans, caches); `answer` fingerprints what each call
 * returned, to check that both databases answered the same.
 */
async function compare(
  pair: Pair,
  n: number,
  fn: (side: Side, i: number) => Promise<unknown>,
  options: { answer?: (result: never) => string; warmup?: number; pause?: number } = {},
): Promise<Compared> {
  const { answer, warmup = 10, pause = 0 } = options;
  const sides = ['small', 'full'] as const;
  const times = { small: [] as number[], full: [] as number[] };
  const answers = { small: [] as string[], full: [] as string[] };
  for (const side of sides) for (let i = 0; i < Math.min(warmup, n); i++) await fn(pair[side], i);
  const per = Math.ceil(n / BLOCKS);
  for (let from = 0; from < n; from += per) {
    for (const side of sides) {
      for (let i = from; i < Math.min(n, from + per); i++) {
        if (pause) await sleep(pause);
        const t = performance.now();
        const result = await fn(pair[side], i);
        times[side].push(performance.now() - t);
        if (answer) answers[side].push(answer(result as never));
      }
    }
  }
  const of = (side: 'small' | 'full'): Measure => ({
    summary: summarize(times[side]),
    times: times[side],
    answers: answer ? answers[side].join('|') : null,
  });
  return { small: of('small'), full: of('full') };
}

/** A new run's pickup: apply confirmed → the apply step's first instruction (in the serve process). */
async function pickupSeries(
  side: Side,
  count: number,
  offset = 0,
): Promise<{ pickups: number[]; lastRun: string }> {
  const { core, ws } = side;
  const pickups: number[] = [];
  let lastRun = '';
  for (let i = 0; i < count; i++) {
    const deployment = deploymentName((offset + i) % DEPLOYMENTS);
    const run = await core.requestRun({ deployment, actor: ACTOR });
    while ((await core.getRun(run.id)).status !== 'awaiting_plan_approval') await sleep(2);
    await core.approvePlan(run.id, ACTOR);
    const t0 = performance.timeOrigin + performance.now();
    await core.confirmApply(run.id, ACTOR);
    const file = path.join(ws.dataDir, 'state', deployment, `started-${run.id}`);
    while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') await sleep(1);
    pickups.push(Number(readFileSync(file, 'utf8').trim()) * 1000 - t0);
    while ((await core.getRun(run.id)).status !== 'completed') await sleep(2);
    lastRun = run.id;
  }
  return { pickups, lastRun };
}

/**
 * Pickups on both databases in alternating blocks (after 3 unmeasured on
 * each); `offset` picks the deployments. The last run made on each.
 */
async function comparePickups(
  pair: Pair,
  n: number,
  offset: number,
): Promise<{ compared: Compared; lastRun: Record<'small' | 'full', string> }> {
  const times = { small: [] as number[], full: [] as number[] };
  const lastRun = { small: '', full: '' };
  for (const side of ['small', 'full'] as const) await pickupSeries(pair[side], 3, offset + n);
  const per = Math.ceil(n / BLOCKS);
  for (let from = 0; from < n; from += per) {
    for (const side of ['small', 'full'] as const) {
      const series = await pickupSeries(pair[side], Math.min(per, n - from), offset + from);
      times[side].push(...series.pickups);
      lastRun[side] = series.lastRun;
    }
  }
  const of = (side: 'small' | 'full'): Measure => ({
    summary: summarize(times[side]),
    times: times[side],
    answers: null,
  });
  return { compared: { small: of('small'), full: of('full') }, lastRun };
}

type Measures = Map<string, Compared>;

async function measure(pair: Pair): Promise<Measures> {
  const m: Measures = new Map();
  const picked = await comparePickups(pair, PICKUPS, 0);
  m.set('pickup', picked.compared);
  const lastRun = (side: Side) => picked.lastRun[side === pair.small ? 'small' : 'full'];

  const list = PAGES.list;
  m.set(
    'list',
    await compare(pair, N, (s) => s.core.listRuns({ limit: list }), { answer: answerOf }),
  );
  m.set(
    'list --deployment',
    await compare(
      pair,
      N,
      (s, i) => s.core.listRuns({ deployment: deploymentName(i % DEPLOYMENTS), limit: list }),
      { answer: answerOf },
    ),
  );
  m.set(
    'list --status failed',
    await compare(
      pair,
      N,
      (s) => s.core.listRuns({ statuses: STATUS_GROUPS.failed, limit: list }),
      { answer: answerOf },
    ),
  );
  m.set(
    'list --requester',
    await compare(
      pair,
      N,
      (s, i) => s.core.listRuns({ requestedBy: requesterName(i), limit: list }),
      { answer: answerOf },
    ),
  );
  m.set('status RUN', await compare(pair, N_FAST, (s) => s.core.getRun(lastRun(s))));
  m.set(
    'logs RUN -n 100',
    await compare(pair, N_FAST, (s) => s.core.readLogs(lastRun(s), { tail: 100 })),
  );
  // What the /deploy list and /deploy status listeners ask the core (src/bot/listeners/commands/deploy.ts).
  m.set('/deploy list', await compare(pair, N, (s) => s.core.listDeployments(ACTOR)));
  m.set(
    '/deploy status',
    await compare(pair, N, async (s) => {
      await s.core.listDeployments(ACTOR);
      await s.core.listRuns({ statuses: STATUS_GROUPS.active, limit: 200 });
    }),
  );
  // What deploy-tui's runs store loads at start and for a filtered frame (src/tui/data/runs-store.ts).
  m.set(
    'deploy-tui start',
    await compare(
      pair,
      Math.min(N, 100),
      async (s) => {
        await s.core.listDeployments();
        return s.core.listRuns({ statuses: STATUS_GROUPS.all, limit: PAGES.tuiStart });
      },
      { answer: answerOf },
    ),
  );
  m.set(
    'deploy-tui filtered frame',
    await compare(
      pair,
      N,
      (s, i) =>
        s.core.listRuns({
          statuses: STATUS_GROUPS.failed,
          deployment: deploymentName(i % DEPLOYMENTS),
          limit: PAGES.tuiFrame,
        }),
      { answer: answerOf },
    ),
  );
  // /metrics of the live serves: spaced past the one-second cache, so each scrape queries.
  m.set(
    '/metrics scrape',
    await compare(
      pair,
      SCRAPES,
      async (s) => {
        const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`);
        await res.text();
      },
      { warmup: 2, pause: 1100 },
    ),
  );
  return m;
}

const FAILED_IN = `status in (${STATUS_GROUPS.failed.map((s) => `'${s}'`).join(', ')})`;
/** A list filtered by several statuses, as listRunPage writes it: the page's seqs, then its rows. */
/**
 * A page's columns as the list reads them (src/core/store/runs.ts): up to 100
 * runs with each one's current plan and its approvals, a longer page alone.
 */
const columns = (run: string, limit: number) =>
  limit > 100
    ? `${run}.*`
    : `${run}.*, (select row_to_json(p) from plans p where p.id = ${run}.plan_id) as "__plan", (select coalesce(json_agg(a), '[]'::json) from approvals a where a.run_id = ${run}.id and a.plan_id = ${run}.plan_id) as "__approvals"`;
const pageThenRows = (where: string, limit: number) =>
  `select ${columns('r', limit)} from (select seq from runs where ${where} order by seq desc limit ${limit}) page join runs r on r.seq = page.seq order by r.seq desc`;
const newest = (where: string, limit: number) =>
  `select ${columns('runs', limit)} from runs ${where} order by seq desc limit ${limit}`;

const EXPLAINED: [string, string][] = [
  ['list', newest('', 20)],
  ['list --deployment', newest("where deployment = 'app-007'", 20)],
  ['list --status failed', pageThenRows(FAILED_IN, 20)],
  ['list --requester', newest("where requested_by = 'U0USER7'", 20)],
  ['status RUN', "select * from runs where id = 'hist-12345'"],
  [
    'logs RUN -n 100',
    "select * from (select * from run_logs where run_id = 'hist-12345' order by id desc limit 100) t order by id",
  ],
  [
    '/deploy list, deploy-tui start (activity)',
    "select deployment, status, count(*) from runs where deployment in ('app-001', 'app-002') and status in ('queued', 'awaiting_plan_approval', 'awaiting_apply_approval') group by 1, 2",
  ],
  ['deploy-tui start (runs)', newest('', PAGES.tuiStart)],
  [
    'deploy-tui filtered frame',
    pageThenRows(`deployment = 'app-007' and ${FAILED_IN}`, PAGES.tuiFrame),
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

type PruneBeside = {
  readonly without: Summary;
  readonly with: Summary;
  readonly lines: number;
  readonly finished: boolean;
};

/**
 * Pickups without and with retention's pass over the year (logs past 90 days),
 * in alternating blocks so that the other work on the machine weighs on both
 * alike: each block with the pass starts one (it goes on where the last one
 * stopped) and stops it after the block.
 */
async function pickupsBesidePrune(side: Side): Promise<PruneBeside> {
  const per = PRUNE_BLOCK;
  const without: number[] = [];
  const beside: number[] = [];
  let lines = 0;
  let finished = false;
  for (let from = 0; from < PRUNE_PICKUPS; from += per) {
    const count = Math.min(per, PRUNE_PICKUPS - from);
    without.push(...(await pickupSeries(side, count, 100 + from)).pickups);
    let stop = false;
    let passDone = false;
    const pass = pruneHistory(side.core.connection.sql, DEFAULT_RETENTION, {
      shouldStop: () => stop,
    });
    void pass.finally(() => {
      passDone = true;
    });
    beside.push(...(await pickupSeries(side, count, 300 + from)).pickups);
    stop = true;
    const pruned = await pass;
    lines += pruned.runLogs.lines;
    if (passDone && pruned.stoppedEarly === null) finished = true;
  }
  return { without: summarize(without), with: summarize(beside), lines, finished };
}

/** A database seeded as `label` says, with a live serve and a core to read through. */
async function openSide(label: 'small' | 'full', configText: string) {
  const db = await freshDatabase(`history_${label}`);
  const ws = workspace(configText, FILES);
  const closers: (() => Promise<void>)[] = [() => db.drop()];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    process.stdout.write(`  seeding the ${label} database with COPY…\n`);
    const seeded = await seedHistory(
      db.url,
      configText,
      label === 'full' ? { logs: true } : { logs: false, only: pageRunIndexes() },
    );
    const metricsPort = await freePort();
    const serve = await startDeployBot('serve', ws, db.url, {
      METRICS_PORT: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    closers.push(() => serve.stop());
    const core = await DeployCore.open({
      databaseUrl: db.url,
      dataDir: ws.dataDir,
      config: ws.configFile,
      migrate: false,
    });
    closers.push(() => core.close());
    const side: Side = { core, ws, metricsPort };
    return { side, seeded, url: db.url, close };
  } catch (error) {
    await close();
    throw error;
  }
}

export async function benchHistory(report: Report) {
  const section = report.section(
    `A year of history: ${RUNS.toLocaleString('en-US')} finished runs over ${DEPLOYMENTS} deployments, ${LINES.toLocaleString('en-US')} log lines, against a database holding only the pages read`,
    `npm run bench -- history${SCALE !== 1 ? ` (BENCH_HISTORY_SCALE=${SCALE})` : ''}`,
  );
  const configText = historyConfig();
  const load = [os.loadavg()[0]!];
  const small = await openSide('small', configText);
  let results: Measures;
  let explained: string[];
  let pruneBeside: PruneBeside;
  let fullSeeded: Seeded;
  try {
    const full = await openSide('full', configText);
    fullSeeded = full.seeded;
    try {
      await sleep(500);
      load.push(os.loadavg()[0]!);
      results = await measure({ small: small.side, full: full.side });
      load.push(os.loadavg()[0]!);
      explained = await explain(full.url);
      pruneBeside = await pickupsBesidePrune(full.side);
      load.push(os.loadavg()[0]!);
    } finally {
      await full.close();
    }
  } finally {
    await small.close();
  }
  row(
    section,
    'seed with COPY: runs / log lines',
    `${fullSeeded.runs.toFixed(1)} s / ${fullSeeded.logs.toFixed(1)} s`,
    'minutes, not hours',
    fullSeeded.runs + fullSeeded.logs < 3600,
  );
  const differing: string[] = [];
  for (const [name, measured] of results) {
    const f = measured.full.summary;
    const s = measured.small.summary;
    if (measured.full.answers !== measured.small.answers) differing.push(name);
    const ratio = f.p99 / s.p99;
    const p50ratio = f.p50 / s.p50;
    const goal = name === 'list' ? 'p99 ≤ 1.5× and < 20 ms' : 'p99 ≤ 1.5×';
    const ok = ratio <= 1.5 && (name !== 'list' || f.p99 < 20);
    const sure = bootstrapInterval(measured.full.times, measured.small.times, 99, (x, y) => x / y);
    row(
      section,
      `${name}: p50 / p99, history vs small (n=${f.n} each)`,
      `${ms(f.p50)} / ${ms(f.p99)} vs ${ms(s.p50)} / ${ms(s.p99)}: ${ratio.toFixed(2)}× p99 (90% bootstrap interval ${sure.low.toFixed(2)}–${sure.high.toFixed(2)}×; ${p50ratio.toFixed(2)}× p50)`,
      goal,
      ok,
    );
  }
  const pruneRatio = pruneBeside.with.p99 / pruneBeside.without.p99;
  row(
    section,
    `pickup while retention prunes logs past 90 days (n=${pruneBeside.with.n} with, ${pruneBeside.without.n} without): p50 / p99`,
    `${ms(pruneBeside.with.p50)} / ${ms(pruneBeside.with.p99)} vs ${ms(pruneBeside.without.p50)} / ${ms(pruneBeside.without.p99)} without: ${pruneRatio.toFixed(2)}× p99 (${(pruneBeside.with.p50 / pruneBeside.without.p50).toFixed(2)}× p50); ${pruneBeside.lines.toLocaleString('en-US')} lines removed meanwhile${pruneBeside.finished ? ' (the whole pass)' : ' (the pass went on after the pickups)'}`,
    'p99 ≤ 1.2×',
    pruneRatio <= 1.2,
  );
  section.notes.push(
    `The small database holds ${small.seeded.runCount.toLocaleString('en-US')} seeded runs and no log lines: exactly the seeded runs that the measured reads return (each deployment's and each requester's first page, the failed group's, the ${PAGES.tuiStart.toLocaleString('en-US')} newest, and each deployment's failed runs up to deploy-tui's page of ${PAGES.tuiFrame.toLocaleString('en-US')}), seeded in the same order; the full one ${fullSeeded.runCount.toLocaleString('en-US')} runs and ${fullSeeded.lineCount.toLocaleString('en-US')} lines. ${differing.length === 0 ? 'Every list read answered the same seeded runs on both databases (checked for every measured read).' : `The answers differed for: ${differing.join(', ')}.`}`,
    `Both databases are live at once (a serve each); every measure alternates between them in ${BLOCKS} blocks, so that the machine's other work weighs on both alike. Load average (1 min) at the start, after seeding, after the reads, and at the end: ${load.map((l) => l.toFixed(2)).join(', ')}.`,
    'Each database gets a live `deploy-bot serve` (its in-process workers run the pickups; its METRICS_PORT answers the scrapes); the benchmark process reads through the core API (`DeployCore`), as the CLI, the Slack listeners (`/deploy list`: listDeployments; `/deploy status`: listDeployments + the active runs) and deploy-tui (start: listDeployments + the 1,000 newest runs; a filtered frame: status group failed and one deployment) do; rendering is the same work on both databases.',
    'Pickup: from confirmApply() in the benchmark process to the first instruction of the apply step in the serve process. `status RUN` and `logs RUN -n 100` read a run made during the benchmark (150 log lines) on both databases.',
    `Pickup beside retention: on the full database after its reads, ${pruneBeside.with.n} pickups with the pass running and ${pruneBeside.without.n} without, in alternating blocks of ${PRUNE_BLOCK} (each block with the pass starts one; it goes on where the last stopped; what the pass leaves behind, autovacuum of run_logs and dirty pages to write, falls partly in the blocks without); the pass with the default settings (${describePace(DEFAULT_RETENTION)}).`,
    'Indexes (drizzle/0011_retention_history_indexes.sql, 0016_runs_failed_group_retention_runs_audit.sql): runs (seq), (deployment, seq), (status, seq), (requested_by, seq), (deployment, status, seq); the failed group (seq) and (deployment, seq); retention: runs (finished_at) where logs/artifacts not pruned, (deployment, finished_at) where completed.',
    ...explained,
  );
}
