// Approval requirements driven from Slack, over signed requests: two approvals
// from user groups, the same person twice, four eyes on the apply, an entry
// already full; the run message says what each decision still needs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../src/bot/render/actions.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import {
  type BotHarness,
  CHANNEL,
  messageText,
  shownStatus,
  startBotHarness,
} from './support/bot-harness.ts';
import type { FakeMessage } from './support/fake-slack.ts';

const CONFIG = `
deployments:
  - name: web-prod
    environment: production
    approvers: [U0LEAD, S0SRE]
    approvals:
      plan: { count: 2, from: [S0SRE, U0LEAD], notRequester: true }
      apply: [ { count: 1, from: [S0ONCALL], notPlanApprovers: true }, { count: 1, from: [S0SECURITY] } ]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: {
      'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
      'src/apply.sh': 'echo applying',
    },
    slack: {
      userGroups: {
        S0SRE: ['U0SRE1', 'U0BOTH', 'U0REQUESTER'],
        S0SECURITY: ['U0SEC1', 'U0BOTH'],
        S0ONCALL: ['U0ONCALL', 'U0SRE1'],
      },
    },
  });
});
afterAll(async () => {
  await b?.close();
});

const shows = (runId: string, text: string) =>
  b.messageWhere(runId, (m) => messageText(m).includes(text));

async function clickReply(message: FakeMessage, actionId: string, user: string): Promise<string> {
  const res = await b.click(message, actionId, { user });
  expect(res.status).toBe(200);
  return (await b.replies(res.responseUrl))[0] ?? '';
}

describe('approval requirements from Slack', () => {
  it('counts people per entry, refuses the same person twice and the plan approver, and moves once', async () => {
    const runId = await b.runIdOf(await b.command('web-prod', { user: 'U0REQUESTER' }));
    const planned = await shows(runId, 'Plan approvals 0 of 2');
    expect(messageText(planned)).toContain(
      'Plan approvals 0 of 2: still needs 2 from <!subteam^S0SRE>, <@U0LEAD>',
    );

    const self = await clickReply(planned, ACTION_IDS.approvePlan, 'U0REQUESTER');
    expect(self).toContain('you requested this run, so you cannot approve its plan yourself');

    await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0SRE1' });
    const one = await shows(runId, 'Plan approvals 1 of 2');
    expect(shownStatus(one)).toMatch(/^Awaiting plan/);
    expect(messageText(one)).toContain(
      'Plan approvals 1 of 2: still needs 1 from <!subteam^S0SRE>, <@U0LEAD>',
    );
    expect(messageText(one)).toContain('Plan approved by <@U0SRE1> via slack');
    expect(validateBlocks(one.blocks)).toEqual([]);

    const twice = await clickReply(one, ACTION_IDS.approvePlan, 'U0SRE1');
    expect(twice).toContain(
      'you have already approved this, so you cannot approve its plan again: one person counts once; it still needs 1 from <!subteam^S0SRE>, <@U0LEAD>',
    );

    await b.click(one, ACTION_IDS.approvePlan, { user: 'U0BOTH' });
    const awaitingApply = await shows(runId, 'Apply approvals 0 of 2');
    expect(shownStatus(awaitingApply)).toMatch(/^Awaiting apply/);
    expect(messageText(awaitingApply)).toContain(
      'Apply approvals 0 of 2: still needs 1 from <!subteam^S0ONCALL> and 1 from <!subteam^S0SECURITY>',
    );

    // The thread tells who may decide the apply: its entries' groups, not the plan's.
    const applyNotice = await b.slack.waitFor(() =>
      b.slack
        .thread(CHANNEL, planned.ts)
        .find(
          (r) => r.text.includes('waits for one of you') && r.text.includes('confirm the apply'),
        ),
    );
    expect(applyNotice.text).toContain('<!subteam^S0ONCALL> <!subteam^S0SECURITY>');
    expect(applyNotice.text).not.toContain('S0SRE');

    const fourEyes = await clickReply(awaitingApply, ACTION_IDS.confirmApply, 'U0SRE1');
    expect(fourEyes).toContain(
      "you approved this run's plan, so you cannot also confirm the apply",
    );

    await b.click(awaitingApply, ACTION_IDS.confirmApply, { user: 'U0SEC1' });
    const security = await shows(runId, 'Apply approvals 1 of 2');
    expect(messageText(security)).toContain('(for 1 from <!subteam^S0SECURITY>)');

    const notNeeded = await clickReply(security, ACTION_IDS.confirmApply, 'U0BOTH');
    expect(notNeeded).toContain('your approval is not needed');
    expect(notNeeded).toContain('it still needs 1 from <!subteam^S0ONCALL>');

    await b.click(security, ACTION_IDS.confirmApply, { user: 'U0ONCALL' });
    await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Completed'), 20_000);
    const run = await b.h.core.getRun(runId);
    expect(run.approvals.map((a) => [a.stage, a.by, a.entry])).toEqual([
      ['plan', 'U0SRE1', 0],
      ['plan', 'U0BOTH', 0],
      ['apply', 'U0SEC1', 1],
      ['apply', 'U0ONCALL', 0],
    ]);
    const moves = await b.h.core.transitions(runId);
    expect(moves.filter((t) => t.to === 'awaiting_apply_approval')).toHaveLength(1);
    expect(moves.filter((t) => t.to === 'applying')).toHaveLength(1);
  });
});
