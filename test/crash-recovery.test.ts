import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVER,
  type Harness,
  REQUESTER,
  spawnWorkerProcess,
  startHarness,
} from './support/harness.ts';

// Steps record every start in a side-effect log of their own, so double runs show.
const CONFIG = `
deployments:
  - name: slowpoke
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    variables:
      plan_seconds: { type: number, default: 0 }
      apply_seconds: { type: number, default: 0 }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 60s }
`;

const FILES = {
  'app/plan.sh': `
echo "plan $DEPLOY_RUN_ID $$" >> "$DEPLOY_STATE_DIR/side-effects"
sleep "$DEPLOY_VAR_plan_seconds"
echo '{"changes":[{"address":"app.release","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
`,
  'app/apply.sh': `
echo "apply $DEPLOY_RUN_ID $$" >> "$DEPLOY_STATE_DIR/side-effects"
sleep "$DEPLOY_VAR_apply_seconds"
echo "applied $DEPLOY_RUN_ID" >> "$DEPLOY_STATE_DIR/side-effects"
`,
};

let h: Harness;
beforeAll(async () => {
  // No in-process worker: the tests start worker processes and kill them.
  h = await startHarness({ config: CONFIG, files: FILES, workers: 0 });
});
afterAll(async () => {
  await h?.close();
});

function sideEffects(): string[] {
  const file = path.join(h.dataDir, 'state', 'slowpoke', 'side-effects');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

async function waitForLine(pattern: RegExp, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sideEffects().some((l) => pattern.test(l))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no side effect matching ${pattern}: ${sideEffects().join(' | ')}`);
}

describe('a worker killed with SIGKILL', () => {
  it('during plan: another worker plans the run again and it goes on', async () => {
    const doomed = await spawnWorkerProcess(h);
    const run = await h.core.requestRun({
      deployment: 'slowpoke',
      variables: { plan_seconds: '3' },
      actor: REQUESTER,
    });
    await waitForLine(new RegExp(`^plan ${run.id}`));
    await doomed.kill('SIGKILL');
    const survivor = await spawnWorkerProcess(h);
    try {
      const planned = await h.waitFor(run.id, 'awaiting_plan_approval', 30_000);
      expect(planned.plan?.change).toBe(1);
      const plans = sideEffects().filter((l) => l.startsWith(`plan ${run.id}`));
      expect(plans).toHaveLength(2);
      const audit = await h.core.transitions(run.id);
      expect(audit.filter((t) => t.to === 'planning')).toHaveLength(1);
      await h.core.cancelRun(run.id, APPROVER);
    } finally {
      await survivor.kill('SIGTERM');
    }
  });

  it('during apply: the run fails with the partly-changed hint, the apply never runs twice, the slot frees', async () => {
    const doomed = await spawnWorkerProcess(h);
    const run = await h.core.requestRun({
      deployment: 'slowpoke',
      variables: { apply_seconds: '3' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    await waitForLine(new RegExp(`^apply ${run.id}`));
    await doomed.kill('SIGKILL');
    const survivor = await spawnWorkerProcess(h);
    try {
      const failed = await h.waitFor(run.id, 'failed', 30_000);
      expect(failed.failedPhase).toBe('execute');
      expect(failed.error).toMatch(
        /stopped \(no heartbeat\) while applying; the step was not run again/,
      );
      expect(failed.recoveryHint?.text).toMatch(/infrastructure may be partly changed/);
      await new Promise((r) => setTimeout(r, 3500));
      const applies = sideEffects().filter((l) => l.startsWith(`apply ${run.id}`));
      expect(applies).toHaveLength(1);
      // The orphaned step was stopped on this machine: it never finished.
      expect(sideEffects()).not.toContain(`applied ${run.id}`);
      // The slot is free: a new run plans at once.
      const next = await h.core.requestRun({ deployment: 'slowpoke', actor: REQUESTER });
      expect(next.status).not.toBe('queued');
      await h.waitFor(next.id, 'awaiting_plan_approval');
      await h.core.cancelRun(next.id, APPROVER);
    } finally {
      await survivor.kill('SIGTERM');
    }
  });
});

describe('several workers', () => {
  it('never run the same step twice', async () => {
    const workers = await Promise.all([
      spawnWorkerProcess(h),
      spawnWorkerProcess(h),
      spawnWorkerProcess(h),
    ]);
    try {
      const before = sideEffects().length;
      const runs = [];
      for (let i = 0; i < 12; i++) {
        runs.push(await h.core.requestRun({ deployment: 'slowpoke', actor: REQUESTER }));
      }
      // One deployment: they queue and plan one after another, across three processes.
      for (const run of runs)
        await h.waitFor(run.id, ['awaiting_plan_approval', 'cancelled'], 60_000);
      const ids = runs.map((r) => r.id);
      const last = ids.at(-1)!;
      const lastView = await h.core.getRun(last);
      expect(lastView.status).toBe('awaiting_plan_approval');
      await h.core.approvePlan(last, APPROVER);
      await h.core.confirmApply(last, APPROVER);
      await h.waitFor(last, 'completed', 30_000);
      const lines = sideEffects().slice(before);
      for (const id of ids)
        expect(lines.filter((l) => l.startsWith(`plan ${id} `))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith('apply '))).toHaveLength(1);
    } finally {
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    }
  });
});
