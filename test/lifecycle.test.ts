import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRefusal } from '../src/core/errors.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    description: test web tier
    approvers: [U0APPROVER]
    approvalTimeout: 1h
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$" }
      api_key: { type: string, sensitive: true, default: "topsecret-value" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, destroyPlan: ./plan-destroy.sh, destroy: ./destroy.sh, timeout: 20s }
`;

const FILES = {
  'src/plan.sh': `
echo "planning image $DEPLOY_VAR_image_tag with key $DEPLOY_VAR_api_key"
if [ -f "$DEPLOY_STATE_DIR/image" ] && [ "$(cat "$DEPLOY_STATE_DIR/image")" = "$DEPLOY_VAR_image_tag" ]; then
  echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
elif [ -f "$DEPLOY_STATE_DIR/image" ]; then
  echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
else
  echo '{"changes":[{"address":"service.web","action":"create"},{"address":"file.config","action":"create"}]}' > "$DEPLOY_PLAN_FILE"
fi
printf '%s' "$DEPLOY_VAR_image_tag" > "$DEPLOY_ARTIFACT_DIR/desired-image"
`,
  'src/apply.sh': `
echo "applying $(cat "$DEPLOY_ARTIFACT_DIR/desired-image") in run $DEPLOY_RUN_ID phase $DEPLOY_PHASE"
cp "$DEPLOY_ARTIFACT_DIR/desired-image" "$DEPLOY_STATE_DIR/image"
echo "$DEPLOY_RUN_ID" >> "$DEPLOY_STATE_DIR/applies"
printf '{"endpoint":"http://127.0.0.1/web","image":"%s"}' "$(cat "$DEPLOY_STATE_DIR/image")" > "$DEPLOY_OUTPUTS_FILE"
`,
  'src/plan-destroy.sh': `
if [ -f "$DEPLOY_STATE_DIR/image" ]; then
  echo '{"changes":[{"address":"service.web","action":"delete"}]}' > "$DEPLOY_PLAN_FILE"
else
  echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
fi
`,
  'src/destroy.sh': `
rm -f "$DEPLOY_STATE_DIR/image"
echo destroyed
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

async function refusalOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isRefusal(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('execute lifecycle', () => {
  it('plans, takes two approvals, applies and completes with outputs', async () => {
    const requested = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '1.4.2' },
      actor: REQUESTER,
    });
    expect(requested.variables).toEqual({ image_tag: '1.4.2', api_key: '••••••' });

    const planned = await h.waitFor(requested.id, 'awaiting_plan_approval');
    expect(planned.plan).toMatchObject({ known: true, add: 2, change: 0, destroy: 0 });
    expect(planned.plan?.changes.map((c) => c.address)).toEqual(['file.config', 'service.web']);
    expect(planned.currentPhase).toBe('plan');

    const approved = await h.core.approvePlan(requested.id, APPROVER, { planId: planned.plan!.id });
    expect(approved.status).toBe('awaiting_apply_approval');
    expect(approved.approvals).toEqual([
      expect.objectContaining({ stage: 'plan', by: 'U0APPROVER', via: 'cli' }),
    ]);

    await h.core.confirmApply(requested.id, APPROVER, { planId: planned.plan!.id });
    const done = await h.waitFor(requested.id, 'completed');
    expect(done.outputs).toEqual({ endpoint: 'http://127.0.0.1/web', image: '1.4.2' });
    expect(done.approvals.map((a) => a.stage)).toEqual(['plan', 'apply']);
    expect(done.finishedAt).not.toBeNull();
    expect(readFileSync(path.join(h.dataDir, 'state', 'web', 'image'), 'utf8')).toBe('1.4.2');

    const audit = await h.core.transitions(requested.id);
    expect(audit.map((t) => t.to)).toEqual([
      'queued',
      'pending',
      'initializing',
      'planning',
      'awaiting_plan_approval',
      'awaiting_apply_approval',
      'applying',
      'completed',
    ]);
    expect(audit[5]).toMatchObject({ actor: 'U0APPROVER', via: 'cli' });

    const logs = await h.core.readLogs(requested.id);
    const text = logs.map((l) => l.line).join('\n');
    expect(text).toContain('planning image 1.4.2 with key ••••••');
    expect(text).not.toContain('topsecret-value');
    expect(text).toContain(`applying 1.4.2 in run ${requested.id} phase apply`);
  });

  it('ends in no_changes when the plan has nothing to do', async () => {
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '1.4.2' },
      actor: REQUESTER,
    });
    const done = await h.waitFor(run.id, 'no_changes');
    expect(done.plan).toMatchObject({ add: 0, change: 0, destroy: 0 });
    expect(done.approvals).toEqual([]);
  });

  it('refuses approval by the requester (not an approver) and by a stranger, changing nothing', async () => {
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '2.0.0' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const self = await refusalOf(h.core.approvePlan(run.id, REQUESTER));
    expect(self.code).toBe('not_approver');
    const stranger = await refusalOf(
      h.core.approvePlan(run.id, { id: 'U0STRANGER', via: 'slack' }),
    );
    expect(stranger.message).toMatch(/you are not an approver of web/);
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_plan_approval');
    await h.core.cancelRun(run.id, REQUESTER, { reason: 'test done' });
  });
});
