// Many hands at once: one approval from 50 clicks, every step exactly once
// across three worker processes, one active run from two simultaneous requests.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Refusal } from '../../src/core/errors.ts';
import {
  APPROVER,
  type Harness,
  REQUESTER,
  spawnWorkerProcess,
  startHarness,
} from '../support/harness.ts';

const RUNS = Number(
  process.env.FAULT_CONCURRENCY_RUNS ?? (Number(process.env.FAULT_TRIALS ?? 20) >= 20 ? 200 : 40),
);
const DEPLOYMENTS = 20;

function config() {
  const lines = ['deployments:'];
  for (let i = 0; i < DEPLOYMENTS; i++) {
    lines.push(
      `  - name: c${i}`,
      '    approvers: [U0APPROVER, U0SECOND]',
      '    source: { kind: directory, path: ./app }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 60s }',
    );
  }
  return `${lines.join('\n')}\n`;
}
const FILES = {
  'app/plan.sh': `echo "plan $DEPLOY_RUN_ID" >> "$DEPLOY_STATE_DIR/effects"\necho '{"changes":[{"address":"x","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': `echo "apply $DEPLOY_RUN_ID" >> "$DEPLOY_STATE_DIR/effects"\n`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: config(), files: FILES, workers: 0 });
});
afterAll(async () => {
  await h?.close();
});

describe('concurrency', () => {
  it('50 simultaneous Approve clicks on one run give exactly one approval', async () => {
    await h.startWorker();
    const run = await h.core.requestRun({ deployment: 'c0', actor: REQUESTER });
    const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
    const clicks = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        h.core.approvePlan(
          run.id,
          { id: i % 2 ? 'U0APPROVER' : 'U0SECOND', via: 'slack' },
          { planId: planned.plan!.id },
        ),
      ),
    );
    expect(clicks.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    const refused = clicks
      .filter((c) => c.status === 'rejected')
      .map((c) => (c as PromiseRejectedResult).reason as Refusal);
    expect(refused).toHaveLength(49);
    expect(new Set(refused.map((r) => r.code))).toEqual(new Set(['wrong_status']));
    expect((await h.core.getRun(run.id)).approvals).toHaveLength(1);
    await h.core.cancelRun(run.id, APPROVER);
    await Promise.all(h.workers.map((w) => w.stop()));
    h.workers.length = 0;
  });

  it(`three worker processes with ${RUNS} runs execute every step exactly once`, async () => {
    const workers = await Promise.all([
      spawnWorkerProcess(h),
      spawnWorkerProcess(h),
      spawnWorkerProcess(h),
    ]);
    try {
      const ids: string[] = [];
      const actor = APPROVER;
      const unsubscribe = await h.core.subscribeRuns((change) => {
        if (change.status === 'awaiting_plan_approval')
          void h.core.approvePlan(change.runId, actor).catch(() => {});
        if (change.status === 'awaiting_apply_approval')
          void h.core.confirmApply(change.runId, actor).catch(() => {});
      });
      // Requests spread over the deployments; several per deployment queue up.
      for (let i = 0; i < RUNS; i++) {
        ids.push(
          (await h.core.requestRun({ deployment: `c${i % DEPLOYMENTS}`, actor: REQUESTER })).id,
        );
      }
      // Runs superseded by another's apply end cancelled; the rest complete.
      const ends = [];
      for (const id of ids)
        ends.push(await h.waitFor(id, ['completed', 'cancelled', 'failed'], 120_000));
      await unsubscribe();
      expect(
        ends
          .filter((r) => r.status === 'failed')
          .map((r) => `${r.id} ${r.failedPhase}: ${r.error}`),
      ).toEqual([]);
      const lines: string[] = [];
      for (let i = 0; i < DEPLOYMENTS; i++) {
        const file = path.join(h.dataDir, 'state', `c${i}`, 'effects');
        if (existsSync(file)) lines.push(...readFileSync(file, 'utf8').trim().split('\n'));
      }
      for (const r of ends) {
        expect(
          lines.filter((l) => l === `plan ${r.id}`),
          r.id,
        ).toHaveLength(1);
        expect(
          lines.filter((l) => l === `apply ${r.id}`),
          r.id,
        ).toHaveLength(r.status === 'completed' ? 1 : 0);
      }
      expect(ends.filter((r) => r.status === 'completed').length).toBeGreaterThanOrEqual(
        DEPLOYMENTS,
      );
    } finally {
      await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    }
    // 80 sandboxed steps on 2 shared cores: a budget, not a time goal (benchmarks measure time).
  }, 180_000);

  it('two requests for the same idle deployment at the same instant give one active run and one queued', async () => {
    for (let trial = 0; trial < 10; trial++) {
      const name = `c${(trial % (DEPLOYMENTS - 1)) + 1}`;
      const [a, b] = await Promise.all([
        h.core.requestRun({ deployment: name, actor: REQUESTER }),
        h.core.requestRun({ deployment: name, actor: REQUESTER }),
      ]);
      expect([a.status, b.status].sort()).toEqual(['pending', 'queued']);
      const queued = a.status === 'queued' ? a : b;
      const active = a.status === 'queued' ? b : a;
      expect(queued.queue?.behind).toBe(active.id);
      await h.core.cancelRun(queued.id, REQUESTER);
      await h.core.cancelRun(active.id, REQUESTER);
    }
  });
});
