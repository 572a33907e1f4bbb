// The history benchmark's seed: a year of finished runs over 500 deployments
// and their log lines, written with COPY. The same deterministic rows feed
// both databases of the benchmark: the full history, and a small one holding
// only the runs that the measured reads return (`pageRunIndexes`), so that
// each figure compares the same answer read from a small and a large table.

import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { parseConfig } from '../../src/core/config/load.ts';
import { STATUS_GROUPS } from '../../src/core/lifecycle/statuses.ts';

export const SCALE = Number(process.env.BENCH_HISTORY_SCALE ?? 1);
export const RUNS = Math.round(1_000_000 * SCALE);
export const LINES = Math.round(20_000_000 * SCALE);
export const DEPLOYMENTS = 500;
export const USERS = 200;

/** The page sizes the benchmark reads (bench/history.ts): the small database must fill each. */
export const PAGES = {
  list: 20,
  tuiStart: 1000,
  tuiFrame: 1000,
} as const;

export const deploymentName = (i: number) => `app-${String(i).padStart(3, '0')}`;
export const requesterName = (i: number) => `U0USER${i % USERS}`;

export function historyConfig(): string {
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

/** COPY text format: backslash, tab, newline, carriage return escaped. */
const field = (v: string) =>
  v
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');

/** The outcome mix of a year: mostly completed, some failed, cancelled, rolled back. */
export function outcome(i: number): { kind: string; status: string } {
  const r = (i * 2654435761) % 1000;
  if (r < 10) return { kind: 'destroy', status: 'destroyed' };
  if (r < 700) return { kind: 'execute', status: 'completed' };
  if (r < 740) return { kind: 'execute', status: 'no_changes' };
  if (r < 840) return { kind: 'execute', status: 'failed' };
  if (r < 870) return { kind: 'execute', status: 'rolled_back' };
  if (r < 871) return { kind: 'execute', status: 'rollback_failed' };
  return { kind: 'execute', status: 'cancelled' };
}

const FAILED: readonly string[] = STATUS_GROUPS.failed;

/**
 * The seed rows every measured read returns, newest first per read: the
 * newest runs (list, deploy-tui start), each deployment's and each
 * requester's first page, the failed group's first page, and each
 * deployment's failed runs up to deploy-tui's page.
 */
export function pageRunIndexes(): Set<number> {
  const wanted = new Set<number>();
  const byDeployment = new Array<number>(DEPLOYMENTS).fill(0);
  const failedByDeployment = new Array<number>(DEPLOYMENTS).fill(0);
  const byRequester = new Array<number>(USERS).fill(0);
  let failed = 0;
  for (let i = RUNS - 1; i >= 0; i--) {
    const d = i % DEPLOYMENTS;
    const u = i % USERS;
    const isFailed = FAILED.includes(outcome(i).status);
    let take = RUNS - 1 - i < PAGES.tuiStart;
    if (byDeployment[d]! < PAGES.list) take = true;
    if (byRequester[u]! < PAGES.list) take = true;
    if (isFailed && failed < PAGES.list) take = true;
    if (isFailed && failedByDeployment[d]! < PAGES.tuiFrame) take = true;
    byDeployment[d]!++;
    byRequester[u]!++;
    if (isFailed) {
      failed++;
      failedByDeployment[d]!++;
    }
    if (take) wanted.add(i);
  }
  return wanted;
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

export type Seeded = { runs: number; logs: number; runCount: number; lineCount: number };

/**
 * Seeds the history with COPY: every run (or only those in `only`), with the
 * log lines when `logs`; returns the seconds each COPY took and what it wrote.
 */
export async function seedHistory(
  url: string,
  configText: string,
  options: { only?: ReadonlySet<number>; logs: boolean },
): Promise<Seeded> {
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
  const included = (i: number) => options.only === undefined || options.only.has(i);
  let runCount = 0;
  const t0 = performance.now();
  await copyInto(
    url,
    'copy runs (id, deployment, environment, kind, status, requested_by, requested_via, variables, secret_variables, source, config, created_at, updated_at, status_since, finished_at) from stdin',
    function* () {
      for (let i = 0; i < RUNS; i++) {
        if (!included(i)) continue;
        runCount++;
        const d = i % DEPLOYMENTS;
        const { kind, status } = outcome(i);
        const finished = new Date(start + Math.floor((i / RUNS) * yearMs));
        const created = new Date(finished.getTime() - 180_000).toISOString();
        const f = finished.toISOString();
        yield `hist-${i}\t${deploymentName(d)}\t${deployments[d]!.environment}\t${kind}\t${status}\t${requesterName(i)}\tslack\t{}\t{}\t${source}\t${configJson[d]}\t${created}\t${f}\t${f}\t${f}\n`;
      }
    },
  );
  const runsSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  let lineCount = 0;
  if (options.logs) {
    const perRun = Math.max(1, Math.round(LINES / RUNS));
    await copyInto(
      url,
      'copy run_logs (run_id, phase, stream, line, created_at) from stdin',
      function* () {
        for (let i = 0; i < RUNS && lineCount < LINES; i++) {
          if (!included(i)) continue;
          const at = new Date(start + Math.floor((i / RUNS) * yearMs)).toISOString();
          for (let j = 0; j < perRun && lineCount < LINES; j++, lineCount++) {
            yield `hist-${i}\texecute\tstdout\tapply output line ${j} of run ${i}: some realistic text\t${at}\n`;
          }
        }
      },
    );
  }
  const logsSeconds = (performance.now() - t1) / 1000;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    // The totals the metrics read (what the backfill migration does on an upgrade).
    await sql.unsafe(`
      insert into metric_totals (metric, labels, value, last_at)
      select 'runs_finished', jsonb_build_object('deployment', deployment, 'environment', environment, 'kind', kind, 'outcome', status),
        count(*), max(finished_at)
      from runs where finished_at is not null group by deployment, environment, kind, status
      on conflict do nothing`);
    await sql.unsafe('vacuum analyze runs');
    await sql.unsafe('vacuum analyze run_logs');
  } finally {
    await sql.end();
  }
  return { runs: runsSeconds, logs: logsSeconds, runCount, lineCount };
}
