// Figures every process shares, read from PostgreSQL at scrape time so that
// any one `serve` or `worker` reports the truth: runs active by status (and how
// long the oldest has been there), pg-boss jobs by queue and state, totals
// (runs finished, decisions, last success per deployment), the Slack outbox's
// oldest undelivered update and the deploy-bot processes connected. One query
// per scrape, its result kept for a second (several scrapers, one query).

import { Counter, Gauge } from 'prom-client';
import { RUN_STATUSES, STATUS_TABLE } from '../lifecycle/statuses.ts';
import { BOSS_SCHEMA } from '../queue/boss.ts';
import type { Sql } from '../store/database.ts';
import { registry } from './instruments.ts';
import { DECISIONS, RETENTION_REMOVED, RUNS_FINISHED } from './totals.ts';

const ACTIVE_STATUSES = RUN_STATUSES.filter((s) => STATUS_TABLE[s].next.length > 0);
const CACHE_MS = 1000;

type Snapshot = {
  readonly ok: boolean;
  readonly active: { status: string; n: number; oldest: number }[];
  readonly totals: {
    metric: string;
    labels: Record<string, string>;
    value: number;
    last_at: number;
  }[];
  readonly jobs: { queue: string; state: string; n: number }[];
  readonly outboxOldest: number | null;
  readonly outboxPending: number;
  readonly processes: { role: string; n: number }[];
};

const EMPTY: Snapshot = {
  ok: false,
  active: [],
  totals: [],
  jobs: [],
  outboxOldest: null,
  outboxPending: 0,
  processes: [],
};

/**
 * Each part is a scalar subquery: one round trip. The runs part reads only
 * unfinished runs (index runs_status), the outbox part only unsettled messages
 * (its partial index), the jobs part only jobs not yet completed.
 */
async function readSnapshot(sql: Sql): Promise<Snapshot> {
  const [row] = await sql<
    {
      active: Snapshot['active'] | null;
      totals: Snapshot['totals'] | null;
      jobs: Snapshot['jobs'] | null;
      outbox_oldest: number | null;
      outbox_pending: number;
      processes: Snapshot['processes'] | null;
    }[]
  >`
    select
      (select json_agg(x) from (
         select status, count(*)::int as n, extract(epoch from now() - min(status_since))::float8 as oldest
         from runs where status = any(${ACTIVE_STATUSES as string[]}) group by status) x) as active,
      (select json_agg(x) from (
         select metric, labels, value, extract(epoch from last_at)::float8 as last_at
         from metric_totals) x) as totals,
      (select json_agg(x) from (
         select name as queue, state::text as state, count(*)::int as n
         from ${sql(BOSS_SCHEMA)}.job where state in ('created', 'retry', 'active') group by 1, 2) x) as jobs,
      (select extract(epoch from now() - min(r.updated_at))::float8
         from slack_messages m join runs r on r.id = m.run_id
         where not m.settled and m.delivered_version < r.version) as outbox_oldest,
      (select count(*)::int from slack_messages m join runs r on r.id = m.run_id
         where not m.settled and m.delivered_version < r.version) as outbox_pending,
      (select json_agg(x) from (
         select split_part(split_part(application_name, ' ', 1), ':', 2) as role,
                count(distinct split_part(application_name, ' ', 2))::int as n
         from pg_stat_activity
         where application_name like 'deploy-bot:serve %' or application_name like 'deploy-bot:worker %'
         group by 1) x) as processes`;
  if (!row) return EMPTY;
  return {
    ok: true,
    active: row.active ?? [],
    totals: row.totals ?? [],
    jobs: row.jobs ?? [],
    outboxOldest: row.outbox_oldest,
    outboxPending: row.outbox_pending,
    processes: row.processes ?? [],
  };
}

type Source = { sql: Sql; at: number; pending: Promise<Snapshot> | null; last: Snapshot };
let source: Source | null = null;

/** The snapshot for this scrape: at most one query a second, shared by concurrent scrapes. */
function snapshot(): Promise<Snapshot> {
  const s = source;
  if (s === null) return Promise.resolve(EMPTY);
  if (s.pending) return s.pending;
  if (Date.now() - s.at < CACHE_MS) return Promise.resolve(s.last);
  s.pending = readSnapshot(s.sql)
    .catch(() => EMPTY)
    .then((snap) => {
      s.last = snap;
      s.at = Date.now();
      s.pending = null;
      return snap;
    });
  return s.pending;
}

/** Where the shared figures are read from (the process's own pool). */
export function useSharedSource(sql: Sql): void {
  if (source?.sql === sql) return;
  source = { sql, at: 0, pending: null, last: EMPTY };
}

new Gauge({
  name: 'deploybot_database_up',
  help: '1 when the last scrape read the shared figures from PostgreSQL, 0 when it could not (the deploybot_ figures from the database are then missing)',
  registers: [registry],
  async collect() {
    this.set((await snapshot()).ok ? 1 : 0);
  },
});

/**
 * A collector that clears its metric, then fills it from the shared snapshot:
 * nothing when the database could not be read (deploybot_database_up says so).
 */
function fromSnapshot<M extends { reset(): void }>(fill: (metric: M, snap: Snapshot) => void) {
  return async function collect(this: M): Promise<void> {
    const snap = await snapshot();
    this.reset();
    if (snap.ok) fill(this, snap);
  };
}

/** The shared totals of one metric: label values and count. */
function totalsOf(snap: Snapshot, metric: string) {
  return snap.totals.filter((t) => t.metric === metric);
}

new Gauge({
  name: 'deploybot_runs_active',
  help: 'Unfinished runs by status (all processes)',
  labelNames: ['status'] as const,
  registers: [registry],
  collect: fromSnapshot<Gauge<'status'>>((gauge, snap) => {
    for (const status of ACTIVE_STATUSES) gauge.set({ status }, 0);
    for (const a of snap.active) gauge.set({ status: a.status }, a.n);
  }),
});

new Gauge({
  name: 'deploybot_runs_oldest_in_status_seconds',
  help: 'How long the run that has been longest in each unfinished status has been there (0: none)',
  labelNames: ['status'] as const,
  registers: [registry],
  collect: fromSnapshot<Gauge<'status'>>((gauge, snap) => {
    for (const status of ACTIVE_STATUSES) gauge.set({ status }, 0);
    for (const a of snap.active) gauge.set({ status: a.status }, Math.max(0, a.oldest));
  }),
});

new Gauge({
  name: 'deploybot_queue_jobs',
  help: 'pg-boss jobs not yet done, by queue and state (created, retry, active)',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  collect: fromSnapshot<Gauge<'queue' | 'state'>>((gauge, snap) => {
    for (const j of snap.jobs) gauge.set({ queue: j.queue, state: j.state }, j.n);
  }),
});

new Counter({
  name: 'deploybot_runs_finished_total',
  help: 'Runs finished, by deployment, environment, kind and outcome (completed, no_changes, destroyed, failed, rolled_back, rollback_failed, cancelled, expired); the same in every process',
  labelNames: ['deployment', 'environment', 'kind', 'outcome'] as const,
  registers: [registry],
  collect: fromSnapshot<Counter<'deployment' | 'environment' | 'kind' | 'outcome'>>(
    (counter, snap) => {
      for (const t of totalsOf(snap, RUNS_FINISHED)) {
        const { deployment = '', environment = '', kind = '', outcome = '' } = t.labels;
        counter.inc({ deployment, environment, kind, outcome }, Number(t.value));
      }
    },
  ),
});

new Gauge({
  name: 'deploybot_last_success_timestamp_seconds',
  help: 'When the last run of each deployment that did what was asked (completed, no_changes, destroyed) finished, in Unix seconds',
  labelNames: ['deployment'] as const,
  registers: [registry],
  collect: fromSnapshot<Gauge<'deployment'>>((gauge, snap) => {
    const last = new Map<string, number>();
    for (const t of totalsOf(snap, RUNS_FINISHED)) {
      const { deployment = '', outcome = '' } = t.labels;
      if (outcome !== 'completed' && outcome !== 'no_changes' && outcome !== 'destroyed') continue;
      last.set(deployment, Math.max(last.get(deployment) ?? 0, t.last_at));
    }
    for (const [deployment, at] of last) gauge.set({ deployment }, at);
  }),
});

new Counter({
  name: 'deploybot_decisions_total',
  help: 'Approvals, apply confirmations and cancels asked for, by decision (approve_plan, confirm_apply, cancel), result (accepted, refused) and code (ok, or the refusal code: not_approver, self_approval, wrong_status, …); from every front end',
  labelNames: ['decision', 'result', 'code'] as const,
  registers: [registry],
  collect: fromSnapshot<Counter<'decision' | 'result' | 'code'>>((counter, snap) => {
    for (const t of totalsOf(snap, DECISIONS)) {
      const { decision = '', result = '', code = '' } = t.labels;
      counter.inc({ decision, result, code }, Number(t.value));
    }
  }),
});

new Gauge({
  name: 'deploybot_outbox_oldest_undelivered_seconds',
  help: 'Age of the oldest run change not yet shown in its Slack message (0: the outbox is caught up)',
  registers: [registry],
  collect: fromSnapshot<Gauge>((gauge, snap) => gauge.set(Math.max(0, snap.outboxOldest ?? 0))),
});

new Gauge({
  name: 'deploybot_outbox_undelivered',
  help: 'Slack run messages behind their run',
  registers: [registry],
  collect: fromSnapshot<Gauge>((gauge, snap) => gauge.set(snap.outboxPending)),
});

new Gauge({
  name: 'deploybot_processes',
  help: 'deploy-bot serve and worker processes connected to the database, by role',
  labelNames: ['role'] as const,
  registers: [registry],
  collect: fromSnapshot<Gauge<'role'>>((gauge, snap) => {
    gauge.set({ role: 'serve' }, 0);
    gauge.set({ role: 'worker' }, 0);
    for (const p of snap.processes) gauge.set({ role: p.role }, p.n);
  }),
});

new Counter({
  name: 'deploybot_retention_removed_total',
  help: 'What retention removed (what: run_log_lines, plan_artifact_files, runs, audit_entries), all processes',
  labelNames: ['what'] as const,
  registers: [registry],
  collect: fromSnapshot<Counter<'what'>>((counter, snap) => {
    for (const t of totalsOf(snap, RETENTION_REMOVED))
      counter.inc({ what: t.labels.what ?? '' }, Number(t.value));
  }),
});
