// What a person may do with a run, decided in one place: the status table says
// which decisions a status offers, the policy says who, and the core's own
// checks are that same function. The CLI's "next:", deploy-tui's keys and the
// Slack buttons render from it.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { nextSteps } from '../src/cli/format.ts';
import type { Actor } from '../src/core/api/types.ts';
import { isRefusal } from '../src/core/errors.ts';
import { DECISIONS, decisionsAt } from '../src/core/lifecycle/decisions.ts';
import { RUN_STATUSES, STATUS_TABLE } from '../src/core/lifecycle/statuses.ts';
import { availableActions } from '../src/tui/state/view.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: app
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'app/plan.sh': `echo '{"changes":[{"address":"app.release","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'app/apply.sh': 'echo applied',
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

const as = (id: string): Actor => ({ id, via: 'cli' });

describe('decisions as data', () => {
  it('each status offers the decisions of its table entry, and no other', () => {
    for (const status of RUN_STATUSES) {
      const offered = decisionsAt(status);
      expect(offered.includes('cancel')).toBe(STATUS_TABLE[status].cancellable);
      expect(offered.includes('approve_plan')).toBe(status === 'awaiting_plan_approval');
      expect(offered.includes('confirm_apply')).toBe(status === 'awaiting_apply_approval');
      for (const d of offered) expect(DECISIONS).toContain(d);
    }
  });

  it('allowed is what the core would accept: for the approver, the requester and a stranger', async () => {
    const requested = await h.core.requestRun({
      deployment: 'app',
      variables: {},
      actor: REQUESTER,
    });
    const run = await h.waitFor(requested.id, 'awaiting_plan_approval');
    const approver = await h.core.getRunFor(run.id, APPROVER);
    const requester = await h.core.getRunFor(run.id, REQUESTER);
    const stranger = await h.core.getRunFor(run.id, as('U0STRANGER'));
    expect(approver.allowed).toEqual(['approve_plan', 'cancel']);
    expect(requester.allowed).toEqual(['cancel']);
    expect(stranger.allowed).toEqual([]);

    // The core's checks are the same function: what allowed leaves out is refused.
    const refused = await h.core.approvePlan(run.id, REQUESTER).catch((e: unknown) => e);
    expect(isRefusal(refused) && refused.code).toBe('not_approver');
    const strangerCancel = await h.core
      .cancelRun(run.id, as('U0STRANGER'))
      .catch((e: unknown) => e);
    expect(isRefusal(strangerCancel) && strangerCancel.code).toBe('not_approver');

    // The front ends render from it.
    expect(nextSteps(approver)).toEqual([
      `deploy-bot approve ${run.id}`,
      `deploy-bot cancel ${run.id}`,
    ]);
    expect(nextSteps(requester)).toEqual([
      `deploy-bot cancel ${run.id}`,
      `deploy-bot logs ${run.id} --follow`,
    ]);
    expect(availableActions(approver, APPROVER).map((a) => a.key)).toEqual(['a', 'c']);
    expect(availableActions(requester, REQUESTER).map((a) => a.key)).toEqual(['c']);
    expect(availableActions(stranger, as('U0STRANGER'))).toEqual([]);
    // A channel message is everyone's: its buttons are what the status offers.
    const message = JSON.stringify(renderRunMessage(run).blocks);
    expect(message).toContain('approve_plan');
    expect(message).toContain('cancel_run');

    await h.core.approvePlan(run.id, APPROVER, { planId: run.plan!.id });
    const waitingApply = await h.core.getRunFor(run.id, APPROVER);
    expect(waitingApply.allowed).toEqual(['confirm_apply', 'cancel']);
    expect(availableActions(waitingApply, APPROVER).map((a) => a.key)).toEqual(['x', 'c']);
  });
});
