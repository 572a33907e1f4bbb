// The approval policy's state as each front end shows it, from the same run
// view: Slack (within Slack's limits), the CLI's status and deploy-tui's detail.

import { describe, expect, it } from 'vitest';
import type { Block } from '../src/bot/render/blocks.ts';
import { blocksTextLength, LIMITS, validateBlocks } from '../src/bot/render/limits.ts';
import { decidedText } from '../src/bot/render/notice.ts';
import { renderClickRefused } from '../src/bot/render/replies.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { formatRun } from '../src/cli/format.ts';
import { refusalSentence } from '../src/cli/refusals.ts';
import type { ApprovalView, RunView } from '../src/core/api/types.ts';
import type { ApprovalPolicy } from '../src/core/policy/evaluate.ts';
import { performAction } from '../src/tui/actions.ts';
import { detailRows } from '../src/tui/components/run-detail.ts';
import { PLAIN_THEME } from '../src/tui/theme.ts';
import { fixturePolicy, makeRun } from './support/run-fixtures.ts';
import { FakeCore } from './support/tui-fake-core.ts';

const WEB_PROD: ApprovalPolicy = {
  approvers: ['U0LEAD', 'S0SRE'],
  allowSelfApproval: false,
  approvals: {
    plan: [{ count: 2, from: ['S0SRE', 'U0LEAD'], notRequester: true, notPlanApprovers: false }],
    apply: [
      { count: 1, from: ['S0ONCALL'], notPlanApprovers: true },
      { count: 1, from: ['S0SECURITY'], notPlanApprovers: false },
    ],
  },
};

const approval = (
  stage: 'plan' | 'apply',
  by: string,
  entry: number,
  minute: number,
): ApprovalView => ({
  stage,
  by,
  via: 'slack',
  at: `2024-05-01T12:0${minute}:00.000Z`,
  planId: 'plan-7f3a',
  entry,
});

function runWith(status: RunView['status'], approvals: ApprovalView[], policy = WEB_PROD): RunView {
  return makeRun({ status, approvals, policy: fixturePolicy(approvals, policy) });
}

function slackText(run: RunView): string {
  const message = renderRunMessage(run);
  expectValid(message);
  return JSON.stringify(message.blocks);
}

function expectValid(message: { text: string; blocks: readonly Block[] }): void {
  expect(validateBlocks(message.blocks, message.text)).toEqual([]);
  expect(blocksTextLength(message.blocks)).toBeLessThanOrEqual(LIMITS.totalText);
}

const tuiText = (run: RunView) =>
  detailRows(run, [], 120, Date.parse('2024-05-01T12:10:00Z'), PLAIN_THEME)
    .map((r) => r.map((s) => s.text).join(''))
    .join('\n');

describe('the policy in the Slack message', () => {
  it('says how many approved and who is still needed, with group mentions', () => {
    const run = runWith('awaiting_plan_approval', [approval('plan', 'U0SRE1', 0, 1)]);
    const text = slackText(run);
    expect(text).toContain('Plan approvals 1 of 2: still needs 1 from <!subteam^S0SRE>, <@U0LEAD>');
    expect(text).toContain('Plan approved by <@U0SRE1> via slack');
    expect(text).toContain('(for 2 from <!subteam^S0SRE>, <@U0LEAD>)');
  });

  it('the apply: every plan approver, then what the apply still needs, entry by entry', () => {
    const run = runWith('awaiting_apply_approval', [
      approval('plan', 'U0SRE1', 0, 1),
      approval('plan', 'U0LEAD', 0, 2),
      approval('apply', 'U0BOTH', 1, 3),
    ]);
    const text = slackText(run);
    expect(text).toContain('Plan approved by <@U0SRE1>');
    expect(text).toContain('Plan approved by <@U0LEAD>');
    expect(text).toContain('Apply approvals 1 of 2: still needs 1 from <!subteam^S0ONCALL>');
    expect(text).toContain('Apply confirmed by <@U0BOTH> via slack');
    expect(text).toContain('(for 1 from <!subteam^S0SECURITY>)');
  });

  it('the one-approval default reads as before: no counts', () => {
    const run = makeRun({ status: 'awaiting_plan_approval' });
    expect(slackText(run)).not.toContain('Plan approvals');
  });

  it('100 approvals of entries naming 500 people stay within the limits', () => {
    const many = Array.from({ length: 500 }, (_, i) => `U0P${String(i).padStart(4, '0')}`);
    const policy: ApprovalPolicy = {
      approvers: many,
      allowSelfApproval: false,
      approvals: {
        plan: Array.from({ length: 20 }, () => ({ count: 5, from: many, notPlanApprovers: false })),
        apply: [{ count: 100, from: many, notPlanApprovers: false }],
      },
    };
    const approvals = Array.from({ length: 99 }, (_, i) => ({
      ...approval('plan', many[i]!, Math.floor(i / 5), 1),
      note: 'n'.repeat(500),
    }));
    for (const status of [
      'awaiting_plan_approval',
      'awaiting_apply_approval',
      'applying',
    ] as const) {
      const text = slackText(runWith(status, approvals, policy));
      expect(text).toContain('more approvals');
    }
  });

  it('a DM about a decided step names everyone who approved it', () => {
    const run = runWith('awaiting_apply_approval', [
      approval('plan', 'U0SRE1', 0, 1),
      approval('plan', 'U0LEAD', 0, 2),
    ]);
    expect(decidedText(run, 'awaiting_plan_approval:plan-7f3a')).toBe(
      'plan approved by <@U0SRE1>, <@U0LEAD>',
    );
  });

  it('a refusal says what the decision still needs, mentioning who', () => {
    const reply = renderClickRefused(
      {
        code: 'approval_not_needed',
        message:
          'your approval is not needed: the requirements you can count for already have enough people',
        details: { stage: 'apply', missing: [{ entry: 0, from: ['S0ONCALL'], missing: 1 }] },
      },
      null,
    );
    expect(JSON.stringify(reply.blocks)).toContain(
      'already have enough people; it still needs 1 from <!subteam^S0ONCALL>',
    );
    expect(reply.text).toContain('it still needs 1 from S0ONCALL');
  });
});

describe('the policy in the CLI and deploy-tui', () => {
  const run = runWith('awaiting_apply_approval', [
    approval('plan', 'U0SRE1', 0, 1),
    approval('plan', 'U0LEAD', 0, 2),
    approval('apply', 'U0BOTH', 1, 3),
  ]);

  it('deploy-bot status: a policy line per stage and the entry of each approval', () => {
    const text = formatRun(run);
    expect(text).toContain('  policy:    Plan approvals 2 of 2\n');
    expect(text).toContain('  policy:    Apply approvals 1 of 2: still needs 1 from S0ONCALL\n');
    expect(text).toMatch(/approved: {2}apply by U0BOTH via slack at \S+ \(for 1 from S0SECURITY\)/);
  });

  it('deploy-tui: the same lines in the Approvals section', () => {
    const text = tuiText(run);
    expect(text).toContain('Apply approvals 1 of 2: still needs 1 from S0ONCALL');
    expect(text).toMatch(/✓ apply\s+by U0BOTH via slack.*for 1 from S0SECURITY/);
  });

  it('deploy-tui: an approval that counted says what the decision still needs', async () => {
    const waiting = runWith('awaiting_plan_approval', []);
    const counted = runWith('awaiting_plan_approval', [approval('plan', 'U0SRE1', 0, 1)]);
    class CountingCore extends FakeCore {
      override async approvePlan(): Promise<RunView> {
        return counted;
      }
    }
    const outcome = await performAction(
      new CountingCore(),
      { id: 'U0SRE1', via: 'tui' },
      { action: 'approve', run: waiting, reason: '', busy: false },
    );
    expect(outcome.message.text).toBe(
      `approval counted: ${counted.id}: Plan approvals 1 of 2: still needs 1 from S0SRE, U0LEAD`,
    );
  });

  it('the CLI refusal adds what is missing and where to look', () => {
    expect(
      refusalSentence('already_approved', 'you have already approved this', {
        stage: 'plan',
        missing: [{ entry: 0, from: ['S0SRE', 'U0LEAD'], missing: 1 }],
      }),
    ).toBe(
      'you have already approved this; it still needs 1 from S0SRE, U0LEAD (deploy-bot status RUN shows who approved)',
    );
  });
});
