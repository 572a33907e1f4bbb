import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refusalSentence } from '../src/cli/refusals.ts';
import type { Refusal } from '../src/core/errors.ts';
import { isRefusal } from '../src/core/errors.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: app
    environment: production
    approvers: [U0APPROVER, U0SECOND]
    approvalTimeout: 1h
    source: { kind: directory, path: ./app }
    variables:
      plan_seconds: { type: number, default: 0 }
      apply_seconds: { type: number, default: 0 }
      tag: { type: string, default: "v1" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
  - name: quick-expiry
    environment: production
    approvers: [U0APPROVER]
    approvalTimeout: 1s
    source: { kind: directory, path: ./app }
    variables:
      plan_seconds: { type: number, default: 0 }
      apply_seconds: { type: number, default: 0 }
      tag: { type: string, default: "v1" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
  - name: channel-bound
    environment: production
    approvers: [U0APPROVER, S0OPS]
    channels: [C0DEPLOYS]
    source: { kind: directory, path: ./app }
    variables:
      plan_seconds: { type: number, default: 0 }
      apply_seconds: { type: number, default: 0 }
      tag: { type: string, default: "v1" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;

const FILES = {
  'app/plan.sh': `
echo "$DEPLOY_RUN_ID" > "$DEPLOY_STATE_DIR/planning-$DEPLOY_RUN_ID"
sleep "$DEPLOY_VAR_plan_seconds"
echo '{"changes":[{"address":"app.release","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
`,
  'app/apply.sh': `
echo "$DEPLOY_RUN_ID" >> "$DEPLOY_STATE_DIR/applied"
sleep "$DEPLOY_VAR_apply_seconds"
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: CONFIG,
    files: FILES,
    groups: { isMember: async (user, group) => group === 'S0OPS' && user === 'U0OPSMEMBER' },
  });
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

const request = (deployment: string, variables: Record<string, string> = {}, actor = REQUESTER) =>
  h.core.requestRun({ deployment, variables, actor });

describe('cancel', () => {
  it('is allowed while queued, planning and in both approval steps, and records who and why', async () => {
    const slow = await request('app', { plan_seconds: '20' });
    await h.waitFor(slow.id, 'planning');
    const queued = await request('app');
    expect(queued.status).toBe('queued');
    expect(queued.queue).toEqual({ behind: slow.id, position: 1 });

    const q = await h.core.cancelRun(queued.id, REQUESTER, { reason: 'changed my mind' });
    expect(q.status).toBe('cancelled');
    expect(q.cancel).toEqual({ by: 'U0REQUESTER', reason: 'changed my mind' });

    // Cancelling during planning stops the plan step's process.
    const c = await h.core.cancelRun(slow.id, APPROVER);
    expect(c.status).toBe('cancelled');
    expect(c.cancel?.by).toBe('U0APPROVER');
    const deadline = Date.now() + 5000;
    while (h.workers[0]!.active().includes(slow.id) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(h.workers[0]!.active()).not.toContain(slow.id);

    const planned = await request('app');
    await h.waitFor(planned.id, 'awaiting_plan_approval');
    expect((await h.core.cancelRun(planned.id, REQUESTER)).status).toBe('cancelled');

    const second = await request('app');
    await h.waitFor(second.id, 'awaiting_plan_approval');
    await h.core.approvePlan(second.id, APPROVER);
    expect((await h.core.cancelRun(second.id, APPROVER, { reason: 'not today' })).status).toBe(
      'cancelled',
    );
    const audit = await h.core.transitions(second.id);
    expect(audit.at(-1)).toMatchObject({
      from: 'awaiting_apply_approval',
      to: 'cancelled',
      actor: 'U0APPROVER',
      reason: 'not today',
    });
  });

  it('is refused while applying, with the reason, and the run completes', async () => {
    const run = await request('app', { apply_seconds: '2' });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    await h.waitFor(run.id, 'applying');
    const r = await refusal(h.core.cancelRun(run.id, APPROVER));
    expect(r.code).toBe('not_cancellable');
    expect(r.message).toBe(
      'this run is applying and cannot be cancelled: the changes are in progress. Wait for it to finish',
    );
    await h.waitFor(run.id, 'completed');
    const again = await refusal(h.core.cancelRun(run.id, APPROVER));
    expect(again.message).toBe('this run is already completed');
  });

  it('is refused to someone who is neither the requester nor an approver', async () => {
    const run = await request('app');
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const r = await refusal(h.core.cancelRun(run.id, { id: 'U0RANDOM', via: 'slack' }));
    expect(r.code).toBe('not_approver');
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_plan_approval');
    await h.core.cancelRun(run.id, REQUESTER);
  });
});

describe('approval policy', () => {
  it('refuses self-approval and says who can approve', async () => {
    const run = await request('app', {}, APPROVER);
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const r = await refusal(h.core.approvePlan(run.id, APPROVER));
    expect(r.code).toBe('self_approval');
    expect(r.message).toBe(
      'you requested this run, so you cannot approve its plan yourself: ask another approver of app (U0APPROVER, U0SECOND)',
    );
    const ok = await h.core.approvePlan(run.id, { id: 'U0SECOND', via: 'tui' });
    expect(ok.approvals[0]).toMatchObject({ by: 'U0SECOND', via: 'tui' });
    await h.core.cancelRun(run.id, APPROVER);
  });

  it('accepts a member of an approver user group, and applies the channel rule in Slack', async () => {
    const slackActor = { id: 'U0REQUESTER', via: 'slack' as const, channel: 'C0RANDOM' };
    const wrongChannel = await refusal(
      h.core.requestRun({ deployment: 'channel-bound', actor: slackActor }),
    );
    expect(wrongChannel.code).toBe('channel_not_allowed');
    // The core's words carry no Slack markup: the channels come as data.
    expect(wrongChannel.message).toBe('channel-bound cannot be run from this channel');
    expect(wrongChannel.details).toEqual({ channels: ['C0DEPLOYS'] });
    const run = await h.core.requestRun({
      deployment: 'channel-bound',
      actor: { ...slackActor, channel: 'C0DEPLOYS' },
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const outsider = await refusal(
      h.core.approvePlan(run.id, { id: 'U0NOTOPS', via: 'slack', channel: 'C0DEPLOYS' }),
    );
    expect(outsider.message).toMatch(
      /^you are not an approver of channel-bound, so you cannot approve its plan: approvers are U0APPROVER, members of S0OPS$/,
    );
    const member = await h.core.approvePlan(run.id, {
      id: 'U0OPSMEMBER',
      via: 'slack',
      channel: 'C0DEPLOYS',
    });
    expect(member.status).toBe('awaiting_apply_approval');
    await h.core.cancelRun(run.id, APPROVER);
  });

  it('gives one approval when many approvers click at once', async () => {
    const run = await request('app');
    const planned = await h.waitFor(run.id, 'awaiting_plan_approval');
    const clicks = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        h.core.approvePlan(
          run.id,
          { id: i % 2 ? 'U0APPROVER' : 'U0SECOND', via: 'slack' },
          { planId: planned.plan!.id },
        ),
      ),
    );
    expect(clicks.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    for (const c of clicks) {
      if (c.status === 'rejected')
        expect((c.reason as Refusal).message).toBe('this run is now awaiting apply approval');
    }
    const after = await h.core.getRun(run.id);
    expect(after.approvals).toHaveLength(1);
    await h.core.cancelRun(run.id, APPROVER);
  });

  it('refuses a decision on a plan the person did not see', async () => {
    const run = await request('app');
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const r = await refusal(h.core.approvePlan(run.id, APPROVER, { planId: 'plan-somethingelse' }));
    expect(r.code).toBe('plan_changed');
    await h.core.cancelRun(run.id, APPROVER);
  });
});

describe('queueing, expiry and superseded plans', () => {
  it('queues runs behind a working run, first in first out, and starts them by themselves', async () => {
    const first = await request('app', { plan_seconds: '1', tag: 'first' });
    await h.waitFor(first.id, 'planning');
    const second = await request('app', { tag: 'second' });
    const third = await request('app', { tag: 'third' });
    expect(second.queue).toEqual({ behind: first.id, position: 1 });
    expect(third.queue).toEqual({ behind: first.id, position: 2 });
    await h.waitFor(first.id, 'awaiting_plan_approval');
    // Waiting for a person frees the slot: the next one plans.
    await h.waitFor(second.id, 'awaiting_plan_approval');
    await h.waitFor(third.id, 'awaiting_plan_approval');
    const audit = await h.core.transitions(second.id);
    expect(audit[1]).toMatchObject({ from: 'queued', to: 'pending', actor: 'system' });
    // FIFO: second started before third.
    const t2 = (await h.core.transitions(second.id)).find((t) => t.to === 'pending')!.at;
    const t3 = (await h.core.transitions(third.id)).find((t) => t.to === 'pending')!.at;
    expect(t2 <= t3).toBe(true);

    // Applying the first supersedes the other waiting plans.
    await h.core.approvePlan(first.id, APPROVER);
    await h.core.confirmApply(first.id, APPROVER);
    const s2 = await h.waitFor(second.id, 'cancelled');
    const s3 = await h.waitFor(third.id, 'cancelled');
    expect(s2.cancel).toEqual({ by: 'system', reason: `superseded by ${first.id}` });
    expect(s3.cancel?.reason).toBe(`superseded by ${first.id}`);
    const why = (await h.core.transitions(second.id)).at(-1)!.reason;
    expect(why).toMatch(/plan is stale/);
    await h.waitFor(first.id, 'completed');
  });

  it('refuses to apply while another run is working on the deployment, then allows it', async () => {
    const waiting = await request('app');
    await h.waitFor(waiting.id, 'awaiting_plan_approval');
    await h.core.approvePlan(waiting.id, APPROVER);
    const busy = await request('app', { plan_seconds: '2' });
    await h.waitFor(busy.id, 'planning');
    const r = await refusal(h.core.confirmApply(waiting.id, APPROVER));
    expect(r.code).toBe('deployment_busy');
    expect(r.message).toMatch(
      new RegExp(
        `^app is busy: ${busy.id} is planning\\. Confirm the apply again when it finishes`,
      ),
    );
    expect(r.details).toEqual({ behind: busy.id, runId: waiting.id });
    expect(refusalSentence(r.code, r.message, r.details)).toContain(
      `(deploy-bot apply ${waiting.id})`,
    );
    await h.waitFor(busy.id, 'awaiting_plan_approval');
    await h.core.confirmApply(waiting.id, APPROVER);
    await h.waitFor(waiting.id, 'completed');
    expect((await h.core.getRun(busy.id)).cancel?.reason).toBe(`superseded by ${waiting.id}`);
  });

  it('cancels a run whose approval expired', async () => {
    const run = await request('quick-expiry');
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const expired = await h.waitFor(run.id, 'cancelled', 15_000);
    expect(expired.cancel).toEqual({
      by: 'system',
      reason: 'approval expired (waited longer than 1s)',
    });
    const applied = path.join(h.dataDir, 'state', 'quick-expiry', 'applied');
    expect(existsSync(applied)).toBe(false);
  });

  it('two requests for the same idle deployment at the same instant give one working run and one queued', async () => {
    const [a, b] = await Promise.all([
      request('app', { plan_seconds: '1' }),
      request('app', { plan_seconds: '1' }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual(['pending', 'queued']);
    await h.waitFor(a.id, 'awaiting_plan_approval');
    await h.waitFor(b.id, 'awaiting_plan_approval');
    await h.core.cancelRun(a.id, APPROVER);
    await h.core.cancelRun(b.id, APPROVER);
    const applied = path.join(h.dataDir, 'state', 'app', 'applied');
    const lines = readFileSync(applied, 'utf8').trim().split('\n');
    expect(new Set(lines).size).toBe(lines.length);
  });
});
