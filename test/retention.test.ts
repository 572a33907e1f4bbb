import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../src/core/api/types.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { STATUS_GROUPS } from '../src/core/lifecycle/statuses.ts';
import { silentLog } from '../src/core/logs/logger.ts';
import {
  describePrune,
  PRUNED_PHASE,
  type PruneReport,
  pruneHistory,
} from '../src/core/retention/prune.ts';
import { startRetentionSchedule } from '../src/core/retention/schedule.ts';
import { DEFAULT_RETENTION } from '../src/core/retention/settings.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: svc
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    variables:
      mode: { type: select, options: [ok, apply_fail], default: ok }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 10s }
  - name: other
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    variables:
      mode: { type: select, options: [ok, apply_fail], default: ok }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 10s }
`;
const FILES = {
  'svc/plan.sh': `echo planning; echo artifact > "$DEPLOY_ARTIFACT_DIR/plan.bin"\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'svc/apply.sh': `i=0; while [ $i -lt 20 ]; do echo "apply line $i"; i=$((i+1)); done\n[ "$DEPLOY_VAR_mode" = apply_fail ] && exit 3\necho done\n`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

const sql = () => h.core.connection.sql;

async function finishRun(deployment: string, mode = 'ok'): Promise<RunView> {
  const run = await h.core.requestRun({ deployment, variables: { mode }, actor: REQUESTER });
  const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
  await h.core.approvePlan(run.id, APPROVER, { planId: planned.plan!.id });
  await h.core.confirmApply(run.id, APPROVER, { planId: planned.plan!.id });
  return h.waitFor(run.id, ['completed', 'failed']);
}

/** Moves a run's life `days` into the past. */
async function age(runId: string, days: number) {
  await sql()`
    update runs set created_at = created_at - make_interval(days => ${days}),
      finished_at = finished_at - make_interval(days => ${days})
    where id = ${runId}`;
}

const lineCount = async (runId: string) =>
  (
    await sql()<{ n: number }[]>`select count(*)::int as n from run_logs where run_id = ${runId}`
  )[0]!.n;
const artifactCount = async (runId: string) =>
  (
    await sql()<{ n: number }[]>`
      select count(*)::int as n from plan_artifacts a join plans p on p.id = a.plan_id where p.run_id = ${runId}`
  )[0]!.n;

describe('retention settings', () => {
  it('defaults: run logs 90 days, plan artifacts 30 days, runs and audit kept, pace 25%', () => {
    expect(DEFAULT_RETENTION).toEqual({
      runLogs: 90 * 86_400_000,
      planArtifacts: 30 * 86_400_000,
      runs: null,
      audit: null,
      pace: 0.25,
      batchLines: 1000,
    });
    const loaded = parseConfig(
      `${CONFIG}\nretention:\n  runLogs: 14d\n  planArtifacts: keep\n`,
      'deploy.config.yaml',
    );
    expect(loaded.retention).toMatchObject({ runLogs: 14 * 86_400_000, planArtifacts: null });
    const paced = (text: string) =>
      parseConfig(`${CONFIG}\nretention:\n${text}\n`, 'deploy.config.yaml').retention;
    expect(paced('  pace: 10%\n  batchLines: 500')).toMatchObject({ pace: 0.1, batchLines: 500 });
    expect(paced('  pace: 0.5')).toMatchObject({ pace: 0.5, batchLines: 1000 });
    expect(paced('  pace: 100%')).toMatchObject({ pace: 1 });
    expect(paced('  runs: 2y\n  audit: 8w')).toMatchObject({
      runs: 730 * 86_400_000,
      audit: 56 * 86_400_000,
    });
    expect(paced('  runs: 400d\n  audit: keep')).toMatchObject({
      runs: 400 * 86_400_000,
      audit: null,
    });
  });

  it('a wrong pace or batch size is refused with what to write', () => {
    expect(() =>
      parseConfig(`${CONFIG}\nretention:\n  pace: 150%\n  batchLines: 5\n`, 'deploy.config.yaml'),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'deploy.config.yaml: retention.pace: pace: expected the share of its time the pass may work, from 1% to 100% (or 0.01 to 1), like 25%, got "150%"',
          'deploy.config.yaml: retention.batchLines: batchLines: expected a whole number of log lines, 100 to 100000',
        ],
      }),
    );
    expect(() => parseConfig(`${CONFIG}\nretention:\n  pace: 0\n`, 'deploy.config.yaml')).toThrow(
      /pace: expected the share of its time the pass may work.*got 0/,
    );
  });

  it('a wrong value is refused with what to write', () => {
    expect(() =>
      parseConfig(`${CONFIG}\nretention:\n  runLogs: 2h\n  runs: 12h\n`, 'deploy.config.yaml'),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'deploy.config.yaml: retention.runLogs: runLogs: expected keep, or a duration of at least a day like 30d, 90d or 2y, got "2h"',
          'deploy.config.yaml: retention.runs: runs: expected keep, or a duration of at least a day like 30d, 90d or 2y, got "12h"',
        ],
      }),
    );
    expect(() =>
      parseConfig(`${CONFIG}\nretention:\n  runs: 1y\n  audit: 2y\n`, 'deploy.config.yaml'),
    ).toThrow(
      expect.objectContaining({
        problems: [
          'deploy.config.yaml: retention.audit: audit: an audit trail goes with its run, so it cannot be kept longer than runs (365 days): write at most that, or keep (as long as the run)',
        ],
      }),
    );
  });
});

describe('pruning', () => {
  let oldCompleted: RunView; // older completed run of svc: due
  let lastCompleted: RunView; // the last completed run of svc: kept
  let oldFailed: RunView; // due
  let recent: RunView; // 40 days: artifacts due, logs kept
  let waiting: RunView; // unfinished, created long ago
  let before: PruneReport;

  beforeAll(async () => {
    oldCompleted = await finishRun('svc');
    lastCompleted = await finishRun('svc');
    oldFailed = await finishRun('svc', 'apply_fail');
    recent = await finishRun('other', 'apply_fail');
    waiting = await h.core.requestRun({ deployment: 'other', variables: {}, actor: REQUESTER });
    await h.waitFor(waiting.id, 'awaiting_plan_approval');
    await age(oldCompleted.id, 200);
    await age(lastCompleted.id, 150);
    await age(oldFailed.id, 120);
    await age(recent.id, 40);
    await age(waiting.id, 300);
  });

  it('--dry-run says what would go and changes nothing', async () => {
    const counts = await Promise.all([oldCompleted, oldFailed].map((r) => lineCount(r.id)));
    before = await pruneHistory(sql(), DEFAULT_RETENTION, { dryRun: true });
    expect(before.runLogs).toEqual({ runs: 2, lines: counts[0]! + counts[1]! });
    expect(before.planArtifacts.runs).toBe(3);
    expect(before.planArtifacts.files).toBe(3);
    expect(before.protectedRuns).toBe(1);
    expect(await lineCount(oldCompleted.id)).toBe(counts[0]);
    expect(await artifactCount(oldCompleted.id)).toBe(1);

    const cli = spawnSync(
      process.execPath,
      [path.resolve('bin/deploy-bot.js'), 'prune', '--dry-run'],
      { env: { ...process.env, DATABASE_URL: h.db.url }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('run logs 90 days, plan artifacts 30 days after the run ends');
    expect(cli.stdout).toContain(
      `would remove ${(counts[0]! + counts[1]!).toLocaleString('en-US')} line(s) of 2 run(s)`,
    );
    expect(cli.stdout).toContain('would remove 3 file(s)');
    expect(cli.stdout).toContain(
      'kept 1 run(s) that are the last completed run of their deployment',
    );
    expect(cli.stdout).toContain('dry run: nothing was removed');
    expect(await lineCount(oldCompleted.id)).toBe(counts[0]);
  });

  it('removes what is due, keeps what it must, and a pruned log says so where it is read', async () => {
    const transitionsBefore = await sql()<
      { n: number }[]
    >`select count(*)::int as n from run_transitions`;
    const keptLines = await lineCount(lastCompleted.id);
    const recentLines = await lineCount(recent.id);
    const report = await pruneHistory(sql(), DEFAULT_RETENTION, { batchRuns: 1, batchLines: 7 });
    expect(report.runLogs).toEqual(before.runLogs);
    expect(report.planArtifacts).toEqual(before.planArtifacts);

    // Due: the log is one line that says what happened, for every reader.
    for (const run of [oldCompleted, oldFailed]) {
      const lines = await h.core.readLogs(run.id);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ phase: PRUNED_PHASE, stream: 'system' });
      expect(lines[0]!.line).toMatch(
        /^log removed by retention on \d{4}-\d\d-\d\d: \d+ line\(s\), kept 90 days after the run ended \(retention\.runLogs in the config\)\. The run, its plan and audit trail are kept\.$/,
      );
      expect(await artifactCount(run.id)).toBe(0);
      // The run, its plan (text and counts) and audit trail stay.
      const view = await h.core.getRun(run.id);
      expect(view.plan?.changes).toHaveLength(1);
    }
    // Kept: the last completed run of svc (destroy and run again need it), whole.
    expect(await lineCount(lastCompleted.id)).toBe(keptLines);
    expect(await artifactCount(lastCompleted.id)).toBe(1);
    // 40 days old: logs kept (90 days), artifacts gone (30 days).
    expect(await lineCount(recent.id)).toBe(recentLines);
    expect(await artifactCount(recent.id)).toBe(0);
    // Unfinished: untouched whatever its age.
    expect(await artifactCount(waiting.id)).toBe(1);
    expect((await h.core.readLogs(waiting.id)).every((l) => l.phase !== PRUNED_PHASE)).toBe(true);
    const transitionsAfter = await sql()<
      { n: number }[]
    >`select count(*)::int as n from run_transitions`;
    expect(transitionsAfter[0]!.n).toBe(transitionsBefore[0]!.n);

    // Slack's /deploy logs and deploy-tui read the same lines (core.readLogs); the CLI too:
    const cli = spawnSync(
      process.execPath,
      [path.resolve('bin/deploy-bot.js'), 'logs', oldFailed.id],
      { env: { ...process.env, DATABASE_URL: h.db.url }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(/retention +\S* ?log removed by retention on/);

    // A second pass finds nothing more.
    const again = await pruneHistory(sql(), DEFAULT_RETENTION);
    expect(again.runLogs.runs).toBe(0);
    expect(again.planArtifacts.files).toBe(0);
  });

  it('never waits on a lock a writer holds: a locked run is left for the next pass', async () => {
    const run = await finishRun('svc', 'apply_fail');
    await age(run.id, 100);
    const lines = await lineCount(run.id);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = sql().begin(async (tx) => {
      await tx`select id from runs where id = ${run.id} for update`;
      locked();
      await held;
    });
    await isLocked;
    const started = Date.now();
    const report = await pruneHistory(sql(), DEFAULT_RETENTION);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(report.runLogs.runs).toBe(0);
    expect(await lineCount(run.id)).toBe(lines);
    release();
    await holder;
    const next = await pruneHistory(sql(), DEFAULT_RETENTION);
    expect(next.runLogs.runs).toBe(1);
    expect(await lineCount(run.id)).toBe(1);
  });

  it('runs beside live runs without blocking them', async () => {
    // 100 old runs with 2,000 lines each: a pass of small batches takes a while.
    const template = oldFailed.id;
    await sql()`
      insert into runs (id, deployment, environment, kind, status, requested_by, requested_via,
        variables, secret_variables, source, config, created_at, updated_at, status_since, finished_at)
      select 'old-' || g, deployment, environment, kind, 'failed', requested_by, requested_via,
        variables, secret_variables, source, config, now() - interval '200 days', now() - interval '200 days',
        now() - interval '200 days', now() - interval '200 days'
      from runs, generate_series(1, 100) g where id = ${template}`;
    await sql()`
      insert into run_logs (run_id, phase, stream, line)
      select 'old-' || g, 'execute', 'stdout', 'line ' || i
      from generate_series(1, 100) g, generate_series(1, 2000) i`;
    let pruning = true;
    // Without resting (pace 100%): the pass at its busiest.
    const pass = pruneHistory(sql(), DEFAULT_RETENTION, {
      batchRuns: 5,
      batchLines: 500,
      pace: 1,
    }).finally(() => {
      pruning = false;
    });
    const started = Date.now();
    const live = await finishRun('svc');
    const took = Date.now() - started;
    expect(live.status).toBe('completed');
    const report = await pass;
    // The 100 old runs, and maybe the svc run that stopped being its last completed
    // one when the live run completed during the pass.
    expect(report.runLogs.runs).toBeGreaterThanOrEqual(100);
    expect(report.runLogs.lines).toBeGreaterThanOrEqual(200_000);
    expect(
      (
        await sql()<
          { n: number }[]
        >`select count(*)::int as n from run_logs where run_id like 'old-%'`
      )[0]!.n,
    ).toBe(100);
    expect(report.stoppedEarly).toBeNull();
    // The live run went through its whole life meanwhile (plan, two approvals, apply).
    expect(took).toBeLessThan(30_000);
    expect(pruning).toBe(false);
  });

  it('paces itself: after each statement it rests (1 - pace) / pace times as long as it took', async () => {
    const template = oldFailed.id;
    await sql()`
      insert into runs (id, deployment, environment, kind, status, requested_by, requested_via,
        variables, secret_variables, source, config, created_at, updated_at, status_since, finished_at)
      select 'paced-' || g, deployment, environment, kind, 'failed', requested_by, requested_via,
        variables, secret_variables, source, config, now() - interval '200 days', now() - interval '200 days',
        now() - interval '200 days', now() - interval '200 days'
      from runs, generate_series(1, 6) g where id = ${template}`;
    await sql()`
      insert into run_logs (run_id, phase, stream, line)
      select 'paced-' || g, 'execute', 'stdout', 'line ' || i
      from generate_series(1, 6) g, generate_series(1, 300) i`;
    // Each rest, with the time since the last one ended: the statement's time, and a little more.
    const rests: { rest: number; since: number }[] = [];
    let lastEnd = performance.now();
    const report = await pruneHistory(sql(), DEFAULT_RETENTION, {
      batchRuns: 2,
      batchLines: 100,
      pace: 0.2,
      rest: async (ms) => {
        rests.push({ rest: ms, since: performance.now() - lastEnd });
        lastEnd = performance.now();
      },
    });
    expect(report.runLogs).toEqual({ runs: 6, lines: 1800 });
    // Per batch of 2 runs: the candidates, the mark, 6 deletes of 100 lines and the
    // last one finding none; then the plan artifacts' candidates and the last reads.
    expect(rests.length).toBeGreaterThanOrEqual(3 * 8);
    for (const { rest, since } of rests) {
      expect(rest).toBeGreaterThan(0);
      expect(rest).toBeLessThanOrEqual(4 * since + 0.001);
    }
    // At pace 100% it never rests.
    let rested = 0;
    await pruneHistory(sql(), DEFAULT_RETENTION, {
      pace: 1,
      rest: async () => {
        rested++;
      },
    });
    expect(rested).toBe(0);
  });

  it('the daily pg-boss schedule is declared and its job prunes, reporting what it removed', async () => {
    const run = await finishRun('svc', 'apply_fail');
    await age(run.id, 95);
    const reports: PruneReport[] = [];
    const schedule = await startRetentionSchedule({
      url: h.db.url,
      sql: sql(),
      retention: () => DEFAULT_RETENTION,
      log: silentLog,
      onReport: (r) => reports.push(r),
    });
    try {
      const rows = await sql()<{ cron: string; timezone: string }[]>`
        select cron, timezone from pgboss.schedule where name = 'deploy-retention'`;
      expect(rows).toEqual([{ cron: '17 3 * * *', timezone: 'UTC' }]);
      await schedule.runNow();
      const deadline = Date.now() + 60_000;
      while (reports.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(reports[0]?.runLogs.runs).toBeGreaterThanOrEqual(1);
      expect(await lineCount(run.id)).toBe(1);
    } finally {
      await schedule.stop();
    }
  });
});

describe('runs and audit retention (retention.runs, retention.audit)', () => {
  let oldest: RunView; // completed, 800 days: goes
  let oldFailure: RunView; // failed, 790 days: goes
  let lastOfOther: RunView; // completed, 780 days, the last completed run of other: kept
  const count = async (table: 'run_transitions' | 'plans' | 'approvals', runId: string) =>
    (
      await sql()<
        { n: number }[]
      >`select count(*)::int as n from ${sql()(table)} where run_id = ${runId}`
    )[0]!.n;

  beforeAll(async () => {
    oldest = await finishRun('other');
    oldFailure = await finishRun('other', 'apply_fail');
    lastOfOther = await finishRun('other');
    await age(oldest.id, 800);
    await age(oldFailure.id, 790);
    await age(lastOfOther.id, 780);
  });

  it('removes finished runs past retention.runs whole; never an unfinished run or the last completed run of a deployment', async () => {
    const twoYears = { ...DEFAULT_RETENTION, runs: 730 * 86_400_000 };
    const lines = (await lineCount(oldest.id)) + (await lineCount(oldFailure.id));
    const keptLines = await lineCount(lastOfOther.id);
    const waiting = await h.core.requestRun({ deployment: 'svc', variables: {}, actor: REQUESTER });
    await h.waitFor(waiting.id, 'awaiting_plan_approval');
    await age(waiting.id, 1000);
    const unfinished = (await h.core.listRuns({ statuses: STATUS_GROUPS.active })).map((r) => r.id);
    expect(unfinished).toContain(waiting.id);

    const dry = await pruneHistory(sql(), twoYears, { dryRun: true });
    expect(dry.runs).toEqual({ runs: 2, lines });
    expect(describePrune(dry)).toContain(
      `would remove 2 run(s) with their plan, approvals, audit trail and ${lines} log line(s)`,
    );
    expect(await count('plans', oldest.id)).toBe(1);

    const report = await pruneHistory(sql(), twoYears, { batchRuns: 1, batchLines: 100 });
    expect(report.runs).toEqual({ runs: 2, lines });
    for (const run of [oldest, oldFailure]) {
      await expect(h.core.getRun(run.id)).rejects.toMatchObject({ code: 'unknown_run' });
      expect(await lineCount(run.id)).toBe(0);
      expect(await count('run_transitions', run.id)).toBe(0);
      expect(await count('plans', run.id)).toBe(0);
      expect(await count('approvals', run.id)).toBe(0);
    }
    // The last completed run of other: whole (destroy and run again start from it).
    expect((await h.core.getRun(lastOfOther.id)).status).toBe('completed');
    expect(await lineCount(lastOfOther.id)).toBe(keptLines);
    // Unfinished runs, whatever their age, stay.
    for (const id of unfinished) expect((await h.core.getRun(id)).id).toBe(id);
    const again = await pruneHistory(sql(), twoYears);
    expect(again.runs.runs).toBe(0);
    await h.core.cancelRun(waiting.id, REQUESTER);
  });

  it('removes the audit trail of finished runs past retention.audit, and the audit says so where it is read', async () => {
    const month = {
      ...DEFAULT_RETENTION,
      runLogs: null,
      planArtifacts: null,
      audit: 30 * 86_400_000,
    };
    const run = await finishRun('svc', 'apply_fail');
    await age(run.id, 45);
    const entries = await count('run_transitions', run.id);
    expect(entries).toBeGreaterThan(3);
    const keptTrail = await h.core.transitions(lastOfOther.id);

    const report = await pruneHistory(sql(), month);
    expect(report.audit.entries).toBeGreaterThanOrEqual(entries);
    const trail = await h.core.transitions(run.id);
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({
      from: 'failed',
      to: 'failed',
      actor: 'system',
      via: 'system',
    });
    expect(trail[0]!.reason).toMatch(
      new RegExp(
        `^audit trail removed by retention on \\d{4}-\\d\\d-\\d\\d: ${entries} audit entries, kept 30 days after the run ended \\(retention\\.audit in the config\\)\\. The run and its plan are kept\\.$`,
      ),
    );
    // The run and its plan stay; the last completed run of a deployment keeps its trail.
    expect((await h.core.getRun(run.id)).plan?.changes).toHaveLength(1);
    expect(await h.core.transitions(lastOfOther.id)).toEqual(keptTrail);
    // deploy-bot audit RUN shows the entry.
    const cli = spawnSync(process.execPath, [path.resolve('bin/deploy-bot.js'), 'audit', run.id], {
      env: { ...process.env, DATABASE_URL: h.db.url },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('audit trail removed by retention on');
    const again = await pruneHistory(sql(), month);
    expect(again.audit.runs).toBe(0);
  });
});
