// Workers killed with SIGKILL mid-step: nothing stuck, nothing applied twice.
// Each round kills one worker process that holds RUNS runs in the same step.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../src/core/api/types.ts';
import { isTerminal } from '../../src/core/lifecycle/statuses.ts';
import {
  APPROVER,
  type Harness,
  REQUESTER,
  spawnWorkerProcess,
  startHarness,
} from '../support/harness.ts';

const TRIALS = Number(process.env.FAULT_TRIALS ?? 20);
const RUNS = Math.min(TRIALS, 10);
const ROUNDS = Math.ceil(TRIALS / RUNS);

function config() {
  const lines = ['deployments:'];
  for (let i = 0; i < RUNS; i++) {
    lines.push(
      `  - name: k${i}`,
      '    approvers: [U0APPROVER]',
      '    source: { kind: directory, path: ./app }',
      '    variables:',
      '      stage: { type: select, options: [plan, apply, verify, rollback], default: plan }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, rollback: ./rollback.sh, timeout: 60s }',
      '    verify: { command: ./verify.sh, timeout: 60s }',
    );
  }
  return `${lines.join('\n')}\n`;
}

// Each step logs its start (and end) to a side-effect file, then sleeps (long
// enough for every run to start even on a loaded machine) when
// it is the stage under test, so the kill lands while it runs.
const step = (name: string, extra = '') => `
echo "${name} $DEPLOY_RUN_ID start" >> "$DEPLOY_STATE_DIR/effects"
[ "$DEPLOY_VAR_stage" = ${name} ] && [ ! -f "$DEPLOY_STATE_DIR/survived-$DEPLOY_RUN_ID-${name}" ] && { touch "$DEPLOY_STATE_DIR/survived-$DEPLOY_RUN_ID-${name}"; sleep 8; }
${extra}
echo "${name} $DEPLOY_RUN_ID end" >> "$DEPLOY_STATE_DIR/effects"
`;
const FILES = {
  'app/plan.sh': step(
    'plan',
    `echo '{"changes":[{"address":"svc","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  ),
  'app/apply.sh': step('apply'),
  'app/verify.sh': step('verify', '[ "$DEPLOY_VAR_stage" = rollback ] && exit 1; true'),
  'app/rollback.sh': step('rollback'),
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: config(), files: FILES, workers: 0 });
});
afterAll(async () => {
  await h?.close();
});

function effects(deployment: string): string[] {
  const file = path.join(h.dataDir, 'state', deployment, 'effects');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Requests one run per deployment, drives it to the stage, kills the worker mid-stage. */
async function killRound(stage: 'plan' | 'apply' | 'verify' | 'rollback') {
  const doomed = await spawnWorkerProcess(h, { TEST_CONCURRENCY: String(RUNS) });
  const runs: RunView[] = [];
  for (let i = 0; i < RUNS; i++) {
    runs.push(
      await h.core.requestRun({ deployment: `k${i}`, variables: { stage }, actor: REQUESTER }),
    );
  }
  if (stage !== 'plan') {
    for (const r of runs) {
      await h.waitFor(r.id, 'awaiting_plan_approval');
      await h.core.approvePlan(r.id, APPROVER);
      await h.core.confirmApply(r.id, APPROVER);
    }
  }
  await waitUntil(
    () => runs.every((r) => effects(r.deployment).includes(`${stage} ${r.id} start`)),
    `every ${stage} step to start`,
  );
  await doomed.kill('SIGKILL');
  const survivor = await spawnWorkerProcess(h, { TEST_CONCURRENCY: String(RUNS) });
  try {
    const ends = await Promise.all(
      runs.map((r) =>
        h.waitFor(
          r.id,
          [
            'awaiting_plan_approval',
            'completed',
            'failed',
            'rolled_back',
            'rollback_failed',
            'cancelled',
          ],
          60_000,
        ),
      ),
    );
    return { runs: ends, survivor };
  } catch (error) {
    await survivor.kill('SIGTERM');
    throw error;
  }
}

describe(`SIGKILL of a worker (${ROUNDS} round(s) of ${RUNS} runs each)`, () => {
  it('during plan: the plan runs again on another worker and the run goes on', async () => {
    let trials = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const { runs, survivor } = await killRound('plan');
      await survivor.kill('SIGTERM');
      for (const r of runs) {
        expect(r.status).toBe('awaiting_plan_approval');
        expect(effects(r.deployment).filter((l) => l === `plan ${r.id} start`)).toHaveLength(2);
        await h.core.cancelRun(r.id, REQUESTER);
        trials++;
      }
    }
    expect(trials).toBe(ROUNDS * RUNS);
  });

  it('during apply: the run fails with the partly-changed hint, never applies twice, frees the slot', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { runs, survivor } = await killRound('apply');
      try {
        for (const r of runs) {
          expect(r.status).toBe('failed');
          expect(r.failedPhase).toBe('execute');
          expect(r.recoveryHint?.text).toMatch(/partly changed/);
          expect(effects(r.deployment).filter((l) => l === `apply ${r.id} start`)).toHaveLength(1);
          expect(effects(r.deployment)).not.toContain(`apply ${r.id} end`);
        }
        // Every slot is free: a new run of each deployment plans at once.
        const next = await h.core.requestRun({ deployment: runs[0]!.deployment, actor: REQUESTER });
        expect(next.status).toBe('pending');
        await h.waitFor(next.id, 'awaiting_plan_approval');
        await h.core.cancelRun(next.id, REQUESTER);
      } finally {
        await survivor.kill('SIGTERM');
      }
    }
  });

  it('during verify and during rollback: no run stays in a non-terminal status without a worker', async () => {
    for (const stage of ['verify', 'rollback'] as const) {
      const { runs, survivor } = await killRound(stage);
      try {
        for (const r of runs) {
          expect(isTerminal(r.status)).toBe(true);
          if (stage === 'verify')
            expect(r.status).toBe('completed'); // verify is read-only: it ran again
          else expect(r.status).toBe('rollback_failed'); // an interrupted rollback is never re-run blindly
          if (stage === 'rollback')
            expect(r.recoveryHint?.text).toMatch(/^manual intervention is required/);
        }
      } finally {
        await survivor.kill('SIGTERM');
      }
    }
  });
});
