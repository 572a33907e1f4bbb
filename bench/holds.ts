// Issue 18, freezes: what working out the freeze in force costs. Each run view
// before the apply, each `allowed` and each apply approval asks it. Pure (no
// database): (1) the README's three windows (a cron + duration, a one-off and
// a per-deployment cron start/end), asked at a new second each time (cron
// arithmetic in a time zone); (2) a page of 50 runs under one config read at
// one moment (as loadRunViews reads a page), where one answer serves them all,
// against the same 50 asked at 50 different seconds.

import { parseConfig } from '../src/core/config/load.ts';
import { activeFreeze } from '../src/core/policy/holds-view.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const ROUNDS = Number(process.env.BENCH_HOLDS_ROUNDS ?? 2000);
const PAGE = 50;

const CONFIG = `timezone: Europe/Berlin
freeze:
  - { cron: "0 15 * * 5", duration: 66h, reason: "weekend", environments: [production] }
  - { start: 2026-12-24T00:00, end: 2026-12-27T00:00, reason: "holidays" }
deployments:
  - name: web-prod
    environment: production
    approvers: [U0ALICE]
    freeze:
      - { start: "0 22 * * *", end: "0 6 * * *", timezone: UTC, reason: "nightly batch" }
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
`;

export async function benchHolds(report: Report): Promise<void> {
  const section = report.section('Freeze windows: the freeze in force', 'npm run bench -- holds');
  const deployment = parseConfig(CONFIG, '/bench/deploy.config.yaml').deployments.get('web-prod')!;
  // Each run's config snapshot is its own object, as rows are.
  const snapshot = () => JSON.parse(JSON.stringify(deployment));
  const start = Date.UTC(2026, 10, 2);
  for (let i = 0; i < 500; i++) activeFreeze(deployment, new Date(start - (i + 1) * 1000));

  const single: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const at = new Date(start + i * 3_601_000);
    const t = performance.now();
    activeFreeze(deployment, at);
    single.push(performance.now() - t);
  }
  const one = summarize(single);
  row(
    section,
    'one deployment, 3 windows, a new second: p50 / p99',
    `${ms(one.p50)} / ${ms(one.p99)}`,
  );

  const shared: number[] = [];
  const apart: number[] = [];
  const snapshots = Array.from({ length: PAGE }, snapshot);
  for (let p = 0; p < ROUNDS / 10; p++) {
    const at = start + p * 7_200_000;
    let t = performance.now();
    for (const s of snapshots) activeFreeze(s, new Date(at));
    shared.push(performance.now() - t);
    t = performance.now();
    for (const [i, s] of snapshots.entries()) activeFreeze(s, new Date(at + 3_600_000 + i * 1000));
    apart.push(performance.now() - t);
  }
  const a = summarize(shared);
  const b = summarize(apart);
  row(
    section,
    `a page of ${PAGE} runs read at one moment: p50 / p99`,
    `${ms(a.p50)} / ${ms(a.p99)}`,
  );
  row(
    section,
    `the same ${PAGE} asked at ${PAGE} different seconds: p50 / p99`,
    `${ms(b.p50)} / ${ms(b.p99)}`,
  );
  row(section, 'ratio of the p50s (one moment / different seconds)', (a.p50 / b.p50).toFixed(3));
  section.notes.push(
    'A deployment without freeze windows costs nothing here (no windows, no cron arithmetic).',
  );
}
