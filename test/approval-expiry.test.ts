// Approval expiry is decided where the approval is: approve and apply check the
// deadline in the transaction that decides, so a late click never counts, with
// no worker running to sweep expired runs.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRefusal, type Refusal } from '../src/core/errors.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: app
    environment: production
    approvers: [U0APPROVER]
    approvalTimeout: 3s
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;

const FILES = {
  'app/plan.sh': `echo '{"changes":[{"address":"app.release","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'app/apply.sh': `echo "$DEPLOY_RUN_ID" >> "$DEPLOY_STATE_DIR/applied"`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (isRefusal(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('approval expiry without a worker to sweep', () => {
  it('approve and apply past the deadline are refused ("approval expired"): the run is cancelled, nothing applied', async () => {
    const late = await h.core.requestRun({ deployment: 'app', kind: 'execute', actor: REQUESTER });
    const confirmed = await h.core.requestRun({
      deployment: 'app',
      kind: 'execute',
      actor: REQUESTER,
    });
    await h.waitFor(late.id, 'awaiting_plan_approval');
    await h.waitFor(confirmed.id, 'awaiting_plan_approval');
    await h.core.approvePlan(confirmed.id, APPROVER);
    // No worker from here on: nothing sweeps expired approvals.
    for (const w of h.workers) await w.stop();
    await new Promise((r) => setTimeout(r, 3500));
    expect((await h.core.getRun(late.id)).status).toBe('awaiting_plan_approval');
    expect((await h.core.getRun(confirmed.id)).status).toBe('awaiting_apply_approval');

    const approve = await refusal(h.core.approvePlan(late.id, APPROVER));
    expect(approve.code).toBe('approval_expired');
    expect(approve.message).toMatch(/^approval expired: run run-\w+ waited longer than 3s/);
    const apply = await refusal(h.core.confirmApply(confirmed.id, APPROVER));
    expect(apply.code).toBe('approval_expired');
    expect(apply.message).toContain('nothing was changed');

    for (const id of [late.id, confirmed.id]) {
      const run = await h.core.getRun(id);
      expect(run.status).toBe('cancelled');
      expect(run.cancel).toEqual({
        by: 'system',
        reason: 'approval expired (waited longer than 3s)',
      });
    }
    // A worker started later (a restart) applies nothing.
    await h.startWorker();
    await new Promise((r) => setTimeout(r, 1000));
    expect((await h.core.getRun(confirmed.id)).status).toBe('cancelled');
    expect(existsSync(path.join(h.dataDir, 'state', 'app', 'applied'))).toBe(false);
  });
});
