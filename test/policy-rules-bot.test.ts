// Rules seen from Slack, over signed requests: a click refused by a rule (or by
// a rule that fails) is answered with the rule's name and what to do, and the
// run keeps waiting.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../src/bot/render/actions.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import {
  type BotHarness,
  messageText,
  shownStatus,
  startBotHarness,
} from './support/bot-harness.ts';
import type { FakeMessage } from './support/fake-slack.ts';

const CONFIG = `
timezone: Europe/Berlin
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER, U0APPROVER2]
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
    rules:
      - name: frozen-image
        when: 'run.variables.image_tag == "frozen"'
        deny: "image frozen: pick another tag"
      - name: release-candidates
        when: 'run.variables.image_tag.startsWith("rc")'
        deny: "release candidates should not reach production"
        mode: warn
      - name: broken
        when: 'run.variables.image_tag == "broken" && run.variables.replicas > 3'
        deny: "too many replicas"
`;
const FILES = {
  'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await b?.close();
});

async function planned(tag: string): Promise<{ runId: string; message: FakeMessage }> {
  const runId = await b.runIdOf(await b.command(`web image_tag=${tag}`, { user: 'U0REQUESTER' }));
  const message = await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Awaiting plan'));
  return { runId, message };
}

async function clickReply(message: FakeMessage, user: string): Promise<string> {
  const res = await b.click(message, ACTION_IDS.approvePlan, { user });
  expect(res.status).toBe(200);
  const [reply] = await b.replies(res.responseUrl);
  return (JSON.parse(reply ?? '{}') as { text?: string }).text ?? '';
}

describe('rules from Slack', () => {
  it('Approve plan refused by a deny rule: the reply names the rule; the run keeps waiting', async () => {
    const { runId, message } = await planned('frozen');
    const reply = await clickReply(message, 'U0APPROVER');
    expect(reply).toContain('Refused by the rule "frozen-image": image frozen: pick another tag.');
    expect(reply).toContain('the run keeps waiting');
    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_plan_approval');
    const audit = await b.h.core.policyEvaluations(runId);
    expect(audit.at(-1)).toMatchObject({
      moment: 'approve_plan',
      actor: 'U0APPROVER',
      via: 'slack',
      result: 'denied',
    });
  });

  it('a rule whose condition fails refuses (fail closed) and says whom to ask', async () => {
    const { runId, message } = await planned('broken');
    const reply = await clickReply(message, 'U0APPROVER');
    expect(reply).toContain(
      'Refused: the rule "broken" could not be evaluated (No such key: replicas',
    );
    expect(reply).toContain('a rule that fails never lets a decision through');
    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_plan_approval');
  });

  it('the run message shows the rules that matched, within Slack’s limits', async () => {
    const { message } = await planned('frozen');
    expect(validateBlocks(message.blocks)).toEqual([]);
    expect(messageText(message)).toContain(
      '⛔ rule frozen-image refuses approvals: image frozen: pick another tag',
    );
    const rc = await planned('rc1');
    expect(messageText(rc.message)).toContain(
      '⚠️ rule release-candidates (warn): release candidates should not reach production',
    );
    await b.click(rc.message, ACTION_IDS.approvePlan, { user: 'U0APPROVER' });
    const awaiting = await b.messageWhere(rc.runId, (m) =>
      shownStatus(m).startsWith('Awaiting apply'),
    );
    // Still shown at the apply decision.
    expect(messageText(awaiting)).toContain('⚠️ rule release-candidates (warn)');
  });

  it('a run no rule stops is approved as before', async () => {
    const { runId, message } = await planned('1.0.0');
    await b.click(message, ACTION_IDS.approvePlan, { user: 'U0APPROVER' });
    await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Awaiting apply'));
  });
});
