// Item 3: 1,000 runs over 100 deployments with no-op steps, approvals through
// the core API as soon as asked, two worker processes (one is `deploy-bot serve`).
// Engine time per run = the run's life minus its steps' own time and minus the
// time it waited for the (immediate) approvals.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DeployCore } from '../src/core/api/core.ts';
import { isRefusal } from '../src/core/errors.ts';
import { isTerminal } from '../src/core/lifecycle/statuses.ts';
import { backendPids, cpuDelta, cpuOf, cpuOfTree, sumCpu } from './lib/cpu.ts';
import { freshDatabase, type Proc, sleep, startDeployBot, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const DEPLOYMENTS = Number(process.env.BENCH_DEPLOYMENTS ?? 100);
const PER_DEPLOYMENT = Number(process.env.BENCH_PER_DEPLOYMENT ?? 10);

function config() {
  const lines = ['deployments:'];
  for (let i = 0; i < DEPLOYMENTS; i++) {
    lines.push(
      `  - name: d${String(i).padStart(3, '0')}`,
      '    approvers: [U0BENCH]',
      '    allowSelfApproval: true',
      '    source: { kind: directory, path: ./app }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const FILES = {
  'app/plan.sh': `#!/bin/bash
echo "plan_start $EPOCHREALTIME" >> "$DEPLOY_STATE_DIR/t-$DEPLOY_RUN_ID"
echo '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
echo "plan_end $EPOCHREALTIME" >> "$DEPLOY_STATE_DIR/t-$DEPLOY_RUN_ID"
`,
  'app/apply.sh': `#!/bin/bash
echo "apply_start $EPOCHREALTIME" >> "$DEPLOY_STATE_DIR/t-$DEPLOY_RUN_ID"
echo "apply_end $EPOCHREALTIME" >> "$DEPLOY_STATE_DIR/t-$DEPLOY_RUN_ID"
`,
};

export async function benchLifecycle(report: Report) {
  // BENCH_LIFECYCLE_MODES=open (or closed) runs one of the two, for quicker checks.
  const modes = (process.env.BENCH_LIFECYCLE_MODES ?? 'open,closed').split(',');
  if (modes.includes('open')) await lifecycle(report, 'open');
  if (modes.includes('closed')) await lifecycle(report, 'closed');
}

/**
 * open: runs arrive at a fixed rate (RATE per second, round robin over the
 * deployments), the way requests come in; it shows whether the engine keeps up
 * and what each run costs. closed: every deployment runs its runs back to back
 * (100 at once), which finds the most the machine can do; there each run also
 * waits for a free worker (Little's law: 100 in flight at X runs/s live 100/X s).
 */
async function lifecycle(report: Report, mode: 'open' | 'closed') {
  const RATE = Number(process.env.BENCH_RATE ?? 20);
  const section = report.section(
    mode === 'open'
      ? `Lifecycle overhead at ${RATE} runs/s arriving: ${DEPLOYMENTS * PER_DEPLOYMENT} runs over ${DEPLOYMENTS} deployments, two worker processes`
      : `Lifecycle throughput, saturated: ${DEPLOYMENTS * PER_DEPLOYMENT} runs over ${DEPLOYMENTS} deployments back to back, two worker processes`,
    `npm run bench -- lifecycle`,
  );
  const db = await freshDatabase('lifecycle');
  const ws = workspace(config(), FILES);
  const procs: Proc[] = [];
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
    poolSize: 12,
  });
  const actor = { id: 'U0BENCH', via: 'api' as const };
  try {
    procs.push(await startDeployBot('serve', ws, db.url, { DEPLOY_WORKER_CONCURRENCY: '8' }));
    procs.push(await startDeployBot('worker', ws, db.url, { DEPLOY_WORKER_CONCURRENCY: '8' }));
    const askedAt = new Map<string, number>(); // run → time it started waiting for a person
    const approvalWait = new Map<string, number>();
    const finished = new Set<string>();
    const remaining = new Map<string, number>(); // deployment → runs still to request
    const pending = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    };
    let done!: () => void;
    const allDone = new Promise<void>((r) => {
      done = r;
    });
    const total = DEPLOYMENTS * PER_DEPLOYMENT;
    const start = async (deployment: string) => {
      remaining.set(deployment, (remaining.get(deployment) ?? PER_DEPLOYMENT) - 1);
      await core.requestRun({ deployment, actor });
    };
    const act = async (runId: string, status: string, deployment: string) => {
      const now = performance.timeOrigin + performance.now();
      if (status === 'awaiting_plan_approval' || status === 'awaiting_apply_approval') {
        askedAt.set(runId, now);
        try {
          if (status === 'awaiting_plan_approval') await core.approvePlan(runId, actor);
          else await core.confirmApply(runId, actor);
        } catch (error) {
          if (!isRefusal(error)) throw error;
        }
        const took = performance.timeOrigin + performance.now() - now;
        approvalWait.set(runId, (approvalWait.get(runId) ?? 0) + took);
      } else if (isTerminal(status as never) && !finished.has(runId)) {
        finished.add(runId);
        if (mode === 'closed' && (remaining.get(deployment) ?? 0) > 0) await start(deployment);
        if (finished.size === total) done();
      }
    };
    const unsubscribe = await core.subscribeRuns((change) => {
      track(act(change.runId, change.status, change.deployment));
    });
    const cpuAtStart = {
      serve: cpuOfTree(procs[0]!.child.pid!),
      worker: cpuOfTree(procs[1]!.child.pid!),
      bench: process.cpuUsage(),
      backends: new Map((await backendPids(db.url)).map((pid) => [pid, cpuOf(pid).self])),
    };
    const t0 = performance.now();
    const names = Array.from({ length: DEPLOYMENTS }, (_, i) => `d${String(i).padStart(3, '0')}`);
    if (mode === 'closed') await Promise.all(names.map((n) => start(n)));
    else {
      // Open loop: one run every 1/RATE s, on schedule even if the engine lags.
      const began = performance.now();
      for (let i = 0; i < total; i++) {
        const due = began + (i * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        track(start(names[i % DEPLOYMENTS]!));
      }
    }
    const timeout = sleep(600_000).then(() => 'timeout');
    const outcome = await Promise.race([allDone.then(() => 'done'), timeout]);
    const elapsed = (performance.now() - t0) / 1000;
    await unsubscribe();
    await Promise.all([...pending]);
    const serveCpu = cpuDelta(cpuAtStart.serve, cpuOfTree(procs[0]!.child.pid!));
    const workerCpu = cpuDelta(cpuAtStart.worker, cpuOfTree(procs[1]!.child.pid!));
    const benchCpu = process.cpuUsage(cpuAtStart.bench);
    const pgPids = await backendPids(db.url);
    const pgCpu =
      sumCpu(pgPids) - pgPids.reduce((t, pid) => t + (cpuAtStart.backends.get(pid) ?? 0), 0);

    const runs = await core.listRuns({ limit: 5000 });
    const byStatus = new Map<string, number>();
    for (const r of runs) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    const engine: number[] = [];
    for (const r of runs.filter((x) => x.status === 'completed')) {
      const t = Object.fromEntries(
        readFileSync(path.join(ws.dataDir, 'state', r.deployment, `t-${r.id}`), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .map(([k, v]) => [k, Number(v) * 1000]),
      ) as Record<string, number>;
      const audit = await core.transitions(r.id);
      const at = (to: string) => Date.parse(audit.find((x) => x.to === to)!.at);
      const life = Date.parse(r.finishedAt!) - Date.parse(r.createdAt);
      const steps = t.plan_end! - t.plan_start! + (t.apply_end! - t.apply_start!);
      const waiting =
        at('awaiting_apply_approval') -
        at('awaiting_plan_approval') +
        (at('applying') - at('awaiting_apply_approval'));
      engine.push(life - steps - waiting);
    }
    const s = summarize(engine);
    const completed = byStatus.get('completed') ?? 0;
    const left = runs.filter((r) => !isTerminal(r.status)).length;
    row(
      section,
      'runs completed',
      `${completed} of ${total} (${outcome})`,
      `${total}`,
      completed === total,
    );
    row(section, 'runs left in a non-terminal status', String(left), '0', left === 0);
    if (completed < total) {
      // What the others ended as, and why: a benchmark that only counts would hide a bug.
      const others = runs.filter((r) => r.status !== 'completed');
      const reasons = new Map<string, number>();
      for (const r of others) {
        const why = `${r.status}: ${r.error ?? r.cancel?.reason ?? ''}`
          .replace(/run-[a-z0-9]+/g, 'run-…')
          .slice(0, 160);
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      row(
        section,
        'runs not completed, by status and reason',
        [...reasons].map(([why, n]) => `${n} × ${why}`).join('; '),
      );
    }
    if (mode === 'open') {
      // Sustained: every run arrived on schedule and finished soon after the last arrived.
      const tail = elapsed - total / RATE;
      row(
        section,
        'runs/s sustained',
        `${(completed / elapsed).toFixed(1)} runs/s (${total} arrived over ${(total / RATE).toFixed(1)} s; all done ${tail.toFixed(1)} s after the last arrived)`,
        '≥ 20 runs/s',
        completed === total && RATE >= 20 && tail < 5,
      );
      row(section, 'engine time per run, p50', ms(s.p50), '≤ 100 ms', s.p50 <= 100);
      row(section, 'engine time per run, p95 / p99', `${ms(s.p95)} / ${ms(s.p99)}`);
    } else {
      row(
        section,
        'throughput (the most this machine does)',
        `${(completed / elapsed).toFixed(1)} runs/s (${elapsed.toFixed(1)} s)`,
        '≥ 20 runs/s',
        completed / elapsed >= 20,
      );
      row(
        section,
        'run life beyond its steps, p50 (includes waiting for a free worker)',
        ms(s.p50),
      );
    }
    const perRun = (seconds: number) => `${((seconds * 1000) / total).toFixed(1)} ms`;
    row(
      section,
      'CPU per run: serve + its step runner and steps / worker + its step runner and steps / PostgreSQL / benchmark client',
      `${perRun(serveCpu.self)} + ${perRun(serveCpu.children)} / ${perRun(workerCpu.self)} + ${perRun(workerCpu.children)} / ${perRun(pgCpu)} / ${perRun((benchCpu.user + benchCpu.system) / 1e6)}`,
    );
    const serveRss = procs[0]!.peakRss() / 2 ** 20;
    row(
      section,
      'deploy-bot serve peak RSS',
      `${serveRss.toFixed(0)} MB`,
      '< 250 MB',
      serveRss < 250,
    );
    row(section, 'deploy-bot worker peak RSS', `${(procs[1]!.peakRss() / 2 ** 20).toFixed(0)} MB`);
    section.notes.push(
      mode === 'open'
        ? `Runs are requested at ${RATE} per second, round robin over the ${DEPLOYMENTS} deployments. Approvals are given by the benchmark process through the core API the moment a run asks (it subscribes to run changes).`
        : `Each deployment runs its ${PER_DEPLOYMENT} runs one after another (the next is requested when the previous finishes); ${DEPLOYMENTS} deployments run at once, so ${DEPLOYMENTS} runs are always in flight and each also waits its turn for a worker.`,
      'Engine time = (finished − created) − (plan and apply steps’ own time, read by the steps from bash `$EPOCHREALTIME`) − (time from asking for an approval to the approval, i.e. the benchmark’s reaction). It is the queue pickups, claims, workspace copies, artifact storage and restore, transitions and the process spawns.',
    );
  } finally {
    for (const p of procs) await p.stop();
    await core.close();
    await db.drop();
  }
}
