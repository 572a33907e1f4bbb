// "Approve with a note" and "Cancel with a reason" from the run message's "⋯"
// menu: a small form; an empty note keeps it open; the note is stored with
// the approval and shown in the message, the audit (transitions) and the CLI.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateView } from '../src/bot/render/view-limits.ts';
import { formatRun } from '../src/cli/format.ts';
import { type BotHarness, messageText, startBotHarness } from './support/bot-harness.ts';
import type { FakeMessage } from './support/fake-slack.ts';
import { findButtons } from './support/slack-signing.ts';
import { postInteraction, submitView } from './support/slack-views.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    notify: none
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
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

type Rec = Record<string, unknown>;

/** Picks `text` in the message's "⋯" menu, as Slack sends it. */
async function pick(message: FakeMessage, text: string, user: string) {
  const actions = (message.blocks as Rec[]).find((x) => x.type === 'actions')!;
  const overflow = (actions.elements as Rec[]).find((e) => e.type === 'overflow')!;
  const option = (overflow.options as Rec[]).find((o) => (o.text as Rec).text === text)!;
  const before = b.slack.modals().length;
  await postInteraction(b.eventsUrl, {
    type: 'block_actions',
    user: { id: user, team_id: 'TFAKETEAM1' },
    api_app_id: 'AFAKEAPP01',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel },
    channel: { id: message.channel },
    message: { ts: message.ts, blocks: message.blocks },
    trigger_id: b.slack.triggerId({ user }),
    response_url: b.slack.responseUrl(),
    actions: [
      {
        type: 'overflow',
        action_id: overflow.action_id,
        block_id: actions.block_id,
        selected_option: option,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  });
  return b.slack.waitFor(() => b.slack.modals()[before]);
}

async function waiting() {
  const runId = await b.runIdOf(await b.command('web'));
  await b.h.waitFor(runId, 'awaiting_plan_approval');
  const message = await b.messageWhere(runId, (m) =>
    findButtons(m.blocks).some((x) => x.actionId === 'approve_plan'),
  );
  return { runId, message };
}

describe('decisions with a note', () => {
  it('Approve with a note: stored with the approval, shown in the message, the audit and the CLI', async () => {
    const { runId, message } = await waiting();
    const modal = await pick(message, 'Approve with a note', 'U0APPROVER');
    expect(validateView(modal.view)).toEqual([]);
    const empty = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0APPROVER',
      answers: { note: '' },
    });
    expect(empty.body).toMatchObject({
      response_action: 'errors',
      errors: { note: expect.any(String) },
    });
    const ok = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0APPROVER',
      answers: { note: 'checked with the DB team <ok>' },
    });
    expect(ok.body).toBeNull();
    const run = await b.h.waitFor(runId, 'awaiting_apply_approval');
    expect(run.approvals[0]).toMatchObject({
      by: 'U0APPROVER',
      note: 'checked with the DB team <ok>',
    });
    const shown = await b.messageWhere(runId, (m) =>
      messageText(m).includes('checked with the DB team'),
    );
    expect(messageText(shown)).toContain('checked with the DB team &lt;ok&gt;');
    const audit = await b.h.core.transitions(runId);
    expect(audit.at(-1)?.reason).toBe('plan approved by U0APPROVER: checked with the DB team <ok>');
    expect(formatRun(run)).toContain('“checked with the DB team <ok>”');
  });

  it('someone who may not approve cannot with a note either (same policy); Cancel with a reason cancels with it', async () => {
    const { runId, message } = await waiting();
    const mine = await pick(message, 'Approve with a note', 'U0REQUESTER');
    await submitView(b.slack, b.eventsUrl, {
      view: mine,
      userId: 'U0REQUESTER',
      answers: { note: 'me' },
    });
    await b.slack.waitFor(() =>
      b.slack.ephemerals.find(
        (e) => e.user === 'U0REQUESTER' && JSON.stringify(e).includes('not an approver of web'),
      ),
    );

    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_plan_approval');
    const cancel = await pick(message, 'Cancel with a reason', 'U0REQUESTER');
    await submitView(b.slack, b.eventsUrl, {
      view: cancel,
      userId: 'U0REQUESTER',
      answers: { note: 'wrong image' },
    });
    const run = await b.h.waitFor(runId, 'cancelled');
    expect(run.cancel).toEqual({ by: 'U0REQUESTER', reason: 'wrong image' });
  });
});
