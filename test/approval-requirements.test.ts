// Approval requirements per decision over a real core and PostgreSQL: counts of
// distinct people, several entries, one person in two groups, notRequester,
// notPlanApprovers, and 50 approvers at once on a run needing 3.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, RunView } from '../src/core/api/types.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { ConfigError, isRefusal, Refusal } from '../src/core/errors.ts';
import { deploymentRequirements } from '../src/core/policy/evaluate.ts';
import { openApiDocument } from '../src/server/api/openapi.ts';
import { approvalViewSchema, policyViewSchema } from '../src/server/api/schemas.ts';
import { startApiHarness } from './support/api-server.ts';
import { type Harness, REQUESTER, startHarness } from './support/harness.ts';

const RACERS = Array.from({ length: 50 }, (_, i) => `U0RACE${String(i).padStart(2, '0')}`);

const STEPS = `
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }`;

const CONFIG = `
deployments:
  - name: web-prod
    approvers: [U0LEAD, S0SRE]
    approvals:
      plan: { count: 2, from: [S0SRE, U0LEAD], notRequester: true }
      apply: [ { count: 1, from: [S0ONCALL], notPlanApprovers: true }, { count: 1, from: [S0SECURITY] } ]
${STEPS}
  - name: two-groups
    approvers: [S0SRE, S0SECURITY]
    approvals:
      plan: [ { from: [S0SRE] }, { from: [S0SECURITY] } ]
${STEPS}
  - name: race
    approvers: [${RACERS.join(', ')}]
    approvals:
      plan: { count: 3 }
${STEPS}
`;

const GROUPS: Record<string, readonly string[]> = {
  S0SRE: ['U0SRE1', 'U0SRE2', 'U0BOTH', 'U0REQUESTER'],
  S0SECURITY: ['U0SEC1', 'U0BOTH'],
  S0ONCALL: ['U0ONCALL', 'U0SRE1'],
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: CONFIG,
    files: {
      'app/plan.sh': `echo '{"changes":[{"address":"app.release","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
      'app/apply.sh': 'echo applied',
    },
    groups: { isMember: async (user, group) => GROUPS[group]?.includes(user) ?? false },
  });
});
afterAll(async () => {
  await h?.close();
});

const slack = (id: string): Actor => ({ id, via: 'slack' });

function refused(promise: Promise<unknown>): Promise<Refusal> {
  return promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => {
      if (isRefusal(error)) return error;
      throw error;
    },
  );
}

async function planned(deployment: string): Promise<RunView> {
  const run = await h.core.requestRun({ deployment, actor: REQUESTER });
  return h.waitFor(run.id, 'awaiting_plan_approval');
}

const movesTo = async (runId: string, status: string) =>
  (await h.core.transitions(runId)).filter((t) => t.to === status);

describe('requirements per decision', () => {
  it('counts distinct people: stays until 2 of the plan entry approved, refusing repeats, the requester and strangers', async () => {
    const run = await planned('web-prod');
    const first = await h.core.approvePlan(run.id, slack('U0SRE1'));
    expect(first.status).toBe('awaiting_plan_approval');
    expect(first.approvals).toMatchObject([{ stage: 'plan', by: 'U0SRE1', entry: 0 }]);
    expect(first.policy?.plan).toEqual({
      satisfied: false,
      entries: [
        {
          count: 2,
          from: ['S0SRE', 'U0LEAD'],
          notRequester: true,
          notPlanApprovers: false,
          source: { kind: 'deployment' },
          satisfiedBy: ['U0SRE1'],
          missing: 1,
        },
      ],
    });
    // The view's policy is what the API documents.
    expect(policyViewSchema.parse(first.policy)).toEqual(first.policy);
    expect(approvalViewSchema.parse(first.approvals[0])).toEqual(first.approvals[0]);
    // What the approver may do now is what the core would accept.
    expect((await h.core.getRunFor(run.id, slack('U0SRE1'))).allowed).toEqual(['cancel']);
    expect((await h.core.getRunFor(run.id, slack('U0LEAD'))).allowed).toContain('approve_plan');

    const again = await refused(h.core.approvePlan(run.id, slack('U0SRE1')));
    expect(again.code).toBe('already_approved');
    expect(again.details).toMatchObject({ stage: 'plan' });
    const self = await refused(h.core.approvePlan(run.id, REQUESTER_IN_SLACK));
    expect(self.code).toBe('self_approval');
    const stranger = await refused(h.core.approvePlan(run.id, slack('U0STRANGER')));
    expect(stranger.code).toBe('not_approver');
    expect(stranger.details).toMatchObject({
      stage: 'plan',
      missing: [{ entry: 0, from: ['S0SRE', 'U0LEAD'], missing: 1 }],
    });
    expect(stranger.message).toBe(
      'you are not an approver of web-prod, so you cannot approve its plan: approvers are members of S0SRE, U0LEAD',
    );
    expect((await h.core.getRun(run.id)).approvals).toHaveLength(1);

    const second = await h.core.approvePlan(run.id, slack('U0LEAD'));
    expect(second.status).toBe('awaiting_apply_approval');
    expect(second.policy?.plan).toMatchObject({
      satisfied: true,
      entries: [{ satisfiedBy: ['U0SRE1', 'U0LEAD'], missing: 0 }],
    });
    const moves = await movesTo(run.id, 'awaiting_apply_approval');
    expect(moves).toHaveLength(1);
    expect(moves[0]?.reason).toBe('plan approved by U0SRE1, U0LEAD');
  });

  it('the apply: notPlanApprovers, two entries, one person counts for one entry, a full entry needs nobody more', async () => {
    const run = await planned('web-prod');
    await h.core.approvePlan(run.id, slack('U0SRE2'));
    await h.core.approvePlan(run.id, slack('U0SRE1'));
    // U0SRE1 is on call but approved the plan: four eyes.
    const four = await refused(h.core.confirmApply(run.id, slack('U0SRE1')));
    expect(four.code).toBe('plan_approver');
    expect(four.message).toMatch(
      /^you approved this run's plan, so you cannot also confirm the apply/,
    );
    const security = await h.core.confirmApply(run.id, slack('U0BOTH'));
    expect(security.status).toBe('awaiting_apply_approval');
    expect(security.approvals.filter((a) => a.stage === 'apply')).toMatchObject([
      { by: 'U0BOTH', entry: 1 },
    ]);
    expect(security.policy?.apply.entries.map((e) => [e.satisfiedBy, e.missing])).toEqual([
      [[], 1],
      [['U0BOTH'], 0],
    ]);
    const notNeeded = await refused(h.core.confirmApply(run.id, slack('U0SEC1')));
    expect(notNeeded.code).toBe('approval_not_needed');
    expect(notNeeded.details).toMatchObject({
      stage: 'apply',
      missing: [{ entry: 0, from: ['S0ONCALL'], missing: 1 }],
    });
    expect(notNeeded.message).toBe(
      'your approval is not needed: the requirements you can count for already have enough people',
    );
    const oncall = await h.core.confirmApply(run.id, slack('U0ONCALL'));
    expect(oncall.status).toBe('applying');
    expect(oncall.policy?.apply.satisfied).toBe(true);
    await h.waitFor(run.id, 'completed');
    expect(await movesTo(run.id, 'applying')).toHaveLength(1);
  });

  it('one person in both groups counts once, and moves to the other entry when someone fills theirs', async () => {
    const run = await planned('two-groups');
    const both = await h.core.approvePlan(run.id, slack('U0BOTH'));
    expect(both.status).toBe('awaiting_plan_approval');
    const counted = both.policy?.plan.entries.flatMap((e) => e.satisfiedBy);
    expect(counted).toEqual(['U0BOTH']);
    expect(both.approvals[0]?.entry).toBe(0);
    // Only in S0SRE: U0BOTH's approval goes to S0SECURITY so that both hold.
    const sre = await h.core.approvePlan(run.id, slack('U0SRE2'));
    expect(sre.status).toBe('awaiting_apply_approval');
    expect(sre.policy?.plan.entries.map((e) => e.satisfiedBy)).toEqual([['U0SRE2'], ['U0BOTH']]);
    const stored = await h.core.getRun(run.id);
    expect(stored.approvals.map((a) => [a.by, a.entry])).toEqual([
      ['U0BOTH', 1],
      ['U0SRE2', 0],
    ]);
    await h.core.cancelRun(run.id, slack('U0SRE2'));
  });

  it('over the API: counted approvals, a refusal with its details (409), the policy in the run', async () => {
    const api = await startApiHarness(h);
    try {
      const run = await planned('web-prod');
      const sre = await api.port('U0SRE1');
      const first = await sre.approvePlan(run.id);
      expect(first.policy?.plan.entries[0]?.satisfiedBy).toEqual(['U0SRE1']);
      const token = await api.token('U0SRE1');
      const response = await fetch(`${api.url}/api/v1/runs/${run.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({
        code: 'already_approved',
        details: { stage: 'plan', missing: [{ entry: 0, from: ['S0SRE', 'U0LEAD'], missing: 1 }] },
      });
      const read = await (await api.port('U0LEAD')).getRun(run.id);
      expect(read.allowed).toContain('approve_plan');
      expect(policyViewSchema.parse(read.policy)).toEqual(read.policy);
      await h.core.cancelRun(run.id, slack('U0LEAD'));
    } finally {
      await api.close();
    }
  });

  it('a group Slack cannot confirm fails closed for that group only', async () => {
    const run = await planned('two-groups');
    h.core.setGroupMembership({
      isMember: async (user, group) => {
        if (group === 'S0SECURITY') throw new Refusal('membership_unconfirmed', 'Slack is down');
        return GROUPS[group]?.includes(user) ?? false;
      },
    });
    try {
      const unsure = await refused(h.core.approvePlan(run.id, slack('U0SEC1')));
      expect(unsure.code).toBe('membership_unconfirmed');
      const sre = await h.core.approvePlan(run.id, slack('U0SRE1'));
      expect(sre.approvals.map((a) => [a.by, a.entry])).toEqual([['U0SRE1', 0]]);
    } finally {
      h.core.setGroupMembership({
        isMember: async (user, group) => GROUPS[group]?.includes(user) ?? false,
      });
    }
    const security = await h.core.approvePlan(run.id, slack('U0SEC1'));
    expect(security.status).toBe('awaiting_apply_approval');
    await h.core.cancelRun(run.id, slack('U0SRE1'));
  });

  it('50 distinct approvers at once on a run needing 3: exactly 3 approvals and one transition', async () => {
    const run = await planned('race');
    const clicks = await Promise.allSettled(
      RACERS.map((id) => h.core.approvePlan(run.id, slack(id), { planId: run.plan!.id })),
    );
    expect(clicks.filter((c) => c.status === 'fulfilled')).toHaveLength(3);
    for (const c of clicks) {
      if (c.status === 'rejected') expect((c.reason as Refusal).code).toBe('wrong_status');
    }
    const after = await h.core.getRun(run.id);
    expect(after.status).toBe('awaiting_apply_approval');
    expect(after.approvals).toHaveLength(3);
    expect(new Set(after.approvals.map((a) => a.by)).size).toBe(3);
    expect(after.policy?.plan.entries[0]?.satisfiedBy).toEqual(after.approvals.map((a) => a.by));
    expect(await movesTo(run.id, 'awaiting_apply_approval')).toHaveLength(1);
    await h.core.cancelRun(run.id, slack(RACERS[0]!));
  });
});

const REQUESTER_IN_SLACK: Actor = { id: REQUESTER.id, via: 'slack' };

it('the OpenAPI document describes the policy field of a run', () => {
  const run = (
    openApiDocument().components as { schemas: { Run: { properties: Record<string, unknown> } } }
  ).schemas.Run;
  expect(JSON.stringify(run.properties.policy)).toContain('satisfiedBy');
  expect(JSON.stringify(run.properties.approvals)).toContain('entry');
});

describe('approvals config', () => {
  const load = (approvals: string, extra = '') =>
    parseConfig(
      `deployments:
  - name: web
    approvers: [U0ONE, U0TWO]${extra}
    approvals: ${approvals}
    source: { kind: directory, path: . }
    executor: { kind: script, plan: ./p, apply: ./a }
`,
      '/tmp/deploy.yaml',
    );
  const problems = (approvals: string, extra = '') => {
    try {
      load(approvals, extra);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a config error');
  };

  it('refuses counts nobody can give, notPlanApprovers on the plan, unknown ids and fields', () => {
    expect(problems('{ plan: { count: 3 } }')).toEqual([
      'deploy.yaml: deployments[0].approvals.plan[0].count: count 3 cannot be met: from lists only 2 people (U0ONE, U0TWO)',
    ]);
    expect(problems('{ plan: { notPlanApprovers: true } }')).toEqual([
      'deploy.yaml: deployments[0].approvals.plan[0].notPlanApprovers: notPlanApprovers applies to the apply only',
    ]);
    expect(problems('{ apply: [ { from: [alice] } ] }')).toEqual([
      'deploy.yaml: deployments[0].approvals.apply[0].from[0]: expected a Slack user id (U…/W…) or user-group id (S…)',
    ]);
    expect(problems('{ apply: { cout: 2 } }')[0]).toMatch(/approvals\.apply\[0\].*cout/);
    expect(problems('{ apply: { count: 0 } }')[0]).toMatch(/count is at least 1/);
    expect(problems('{ merge: {} }')[0]).toMatch(/approvals.*merge/);
  });

  it('fills defaults from the deployment: from its approvers, notRequester from allowSelfApproval', () => {
    const policy = { approvers: ['U0ONE', 'S0SRE'], allowSelfApproval: true };
    expect(deploymentRequirements(policy, 'plan')).toEqual([
      { count: 1, from: ['U0ONE', 'S0SRE'], notRequester: false, notPlanApprovers: false },
    ]);
    const configured = {
      ...policy,
      allowSelfApproval: false,
      approvals: { apply: [{ count: 2, notPlanApprovers: true }] },
    };
    expect(deploymentRequirements(configured, 'apply')).toEqual([
      { count: 2, from: ['U0ONE', 'S0SRE'], notRequester: true, notPlanApprovers: true },
    ]);
    expect(deploymentRequirements(configured, 'plan')).toEqual([
      { count: 1, from: ['U0ONE', 'S0SRE'], notRequester: true, notPlanApprovers: false },
    ]);
  });

  it('takes one entry or a list; a group may give any count', () => {
    const web = load(
      '{ plan: { count: 5, from: [S0SRE] }, apply: [ { count: 2 } ] }',
    ).deployments.get('web');
    expect(web?.approvals?.plan).toEqual([{ count: 5, from: ['S0SRE'], notPlanApprovers: false }]);
    expect(web?.approvals?.apply).toEqual([{ count: 2, notPlanApprovers: false }]);
  });
});
