// The run message's buttons, clicked the way Slack sends a click (the
// block_actions payload built from the message the bot posted): every button
// in every status, every refusal, races, stale messages and forged values.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS, encodeButtonValue, parseButtonValue } from '../src/bot/render/actions.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import type { RunStatus } from '../src/core/lifecycle/statuses.ts';
import {
  type BotHarness,
  buttonOf,
  CHANNEL,
  messageText,
  shownStatus,
  startBotHarness,
} from './support/bot-harness.ts';
import type { FakeMessage } from './support/fake-slack.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER, U0APPROVER2, S0OPS]
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, destroyPlan: ./plan-destroy.sh, destroy: ./destroy.sh, timeout: 20s }
  - name: slowapply
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./slow-apply.sh, timeout: 20s }
  - name: limited
    environment: staging
    approvers: [U0APPROVER]
    channels: [C0DEPLOYS]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: grouped
    environment: staging
    approvers: [S0LEADS]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo planning
echo '{"changes":[{"address":"service.web","action":"create"},{"address":"dns.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': `echo applying; printf '{"endpoint":"https://web.example.com"}' > "$DEPLOY_OUTPUTS_FILE"`,
  'src/slow-apply.sh': 'echo applying slowly; sleep 3; echo done',
  'src/plan-destroy.sh': `echo '{"changes":[{"address":"service.web","action":"delete"},{"address":"dns.web","action":"delete"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/destroy.sh': 'echo destroyed',
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: FILES,
    slack: {
      userGroups: { S0OPS: ['U0GROUPIE', 'U0REQUESTER'], S0LEADS: ['U0LEAD1', 'U0LEAD2'] },
    },
  });
});
afterAll(async () => {
  await b?.close();
});

async function start(text: string, user = 'U0REQUESTER'): Promise<string> {
  return b.runIdOf(await b.command(text, { user }));
}

function waitStatus(runId: string, label: string, timeoutMs?: number): Promise<FakeMessage> {
  return b.messageWhere(runId, (m) => shownStatus(m).startsWith(label), timeoutMs);
}

/** The message as it was at one of its versions (what a person still looking at it sees). */
function snapshot(message: FakeMessage, label: string): FakeMessage {
  const version = [...message.versions]
    .reverse()
    .find(
      (v) =>
        messageText({ text: v.text, blocks: v.blocks }).includes(`*Status*\\n`) &&
        shownStatus({ ...message, text: v.text, blocks: v.blocks }).startsWith(label),
    );
  if (!version) throw new Error(`no version of the message showed ${label}`);
  return { ...message, text: version.text, blocks: version.blocks };
}

async function clickReply(
  message: FakeMessage,
  actionId: string,
  options: { user?: string; channel?: string; value?: string; triggerId?: string } = {},
): Promise<string> {
  const res = await b.click(message, actionId, options);
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  const [reply] = await b.replies(res.responseUrl);
  return reply ?? '';
}

const updatesOf = (ts: string) =>
  b.slack.callsTo('chat.update').filter((c) => c.args.ts === ts && c.response.ok === true).length;

async function status(runId: string): Promise<RunStatus> {
  return (await b.h.core.getRun(runId)).status;
}

describe('the happy paths', () => {
  it('execute: Approve plan, then Apply, to completed; one message updated in place', async () => {
    const runId = await start('web image_tag=1.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    expect(validateBlocks(planned.blocks)).toEqual([]);
    const approve = buttonOf(planned, ACTION_IDS.approvePlan);
    expect(approve).toMatchObject({ text: 'Approve plan', style: 'primary' });
    expect(buttonOf(planned, ACTION_IDS.cancelRun)?.text).toBe('Cancel');
    expect(parseButtonValue(approve?.value)).toMatchObject({ runId });

    const approved = await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER' });
    expect(approved.status).toBe(200);
    const awaiting = await waitStatus(runId, 'Awaiting apply');
    const text = messageText(awaiting);
    expect(text).toContain('Plan approved by <@U0APPROVER> via slack');
    const apply = buttonOf(awaiting, ACTION_IDS.confirmApply);
    expect(apply).toMatchObject({ text: 'Apply', style: 'primary' });
    const block = (awaiting.blocks ?? []).find(
      (bl) => (bl as { type?: string }).type === 'actions',
    ) as { elements: { action_id: string; confirm?: { text: { text: string } } }[] };
    const confirm = block.elements.find((e) => e.action_id === ACTION_IDS.confirmApply)?.confirm;
    expect(confirm?.text.text).toContain('+1 to add, ~1 to change, -0 to destroy');

    await b.click(awaiting, ACTION_IDS.confirmApply, { user: 'U0APPROVER2' });
    const done = await waitStatus(runId, 'Completed');
    expect(messageText(done)).toContain('https://web.example.com');
    expect(messageText(done)).toMatch(/Completed\* in \d+s/);
    expect(buttonOf(done, ACTION_IDS.cancelRun)).toBeUndefined();

    const run = await b.h.core.getRun(runId);
    expect(run.approvals.map((a) => [a.stage, a.by, a.via])).toEqual([
      ['plan', 'U0APPROVER', 'slack'],
      ['apply', 'U0APPROVER2', 'slack'],
    ]);
    expect(b.messagesOf(runId)).toHaveLength(1);
    const posts = b.slack
      .callsTo('chat.postMessage')
      .filter(
        (c) =>
          c.response.ok &&
          c.args.thread_ts === undefined &&
          JSON.stringify(c.args.blocks).includes(runId),
      );
    expect(posts).toHaveLength(1);
    expect(done.versions.every((v) => validateBlocks(v.blocks ?? []).length === 0)).toBe(true);
  });

  it('destroy: a danger button and a confirm dialog naming what will be removed', async () => {
    const runId = await start('destroy web image_tag=1.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    expect(messageText(planned)).toContain('DESTROY web (production)');
    await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER' });
    const awaiting = await waitStatus(runId, 'Awaiting apply');
    const destroy = buttonOf(awaiting, ACTION_IDS.confirmApply);
    expect(destroy).toMatchObject({ text: 'Destroy', style: 'danger' });
    const text = messageText(awaiting);
    expect(text).toContain(
      'This permanently removes 2 resources of web (production): dns.web, service.web',
    );
    expect(text).toContain('This cannot be undone');
    expect(text).toContain('"title":{"type":"plain_text","text":"Destroy web?"');
    await b.click(awaiting, ACTION_IDS.confirmApply, { user: 'U0APPROVER' });
    const done = await waitStatus(runId, 'Destroyed');
    expect(messageText(done)).toContain('all resources of *web* (production) were removed');
  });

  it('cancel while waiting for a person: by whom and why', async () => {
    const runId = await start('web image_tag=2.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    await b.click(planned, ACTION_IDS.cancelRun, { user: 'U0REQUESTER' });
    const cancelled = await waitStatus(runId, 'Cancelled');
    expect(messageText(cancelled)).toContain(
      'Cancelled* by <@U0REQUESTER>: cancelled from its Slack message',
    );
    const second = await start('web image_tag=2.0.1');
    await b.click(await waitStatus(second, 'Awaiting plan'), ACTION_IDS.approvePlan, {
      user: 'U0APPROVER',
    });
    await b.click(await waitStatus(second, 'Awaiting apply'), ACTION_IDS.cancelRun, {
      user: 'U0APPROVER2',
    });
    expect(messageText(await waitStatus(second, 'Cancelled'))).toContain('by <@U0APPROVER2>');
  });
});

describe('refusals: the exact reason, and nothing changes', () => {
  it('not an approver', async () => {
    const runId = await start('web image_tag=3.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    const updates = updatesOf(planned.ts);
    const reply = await clickReply(planned, ACTION_IDS.approvePlan, { user: 'U0STRANGER' });
    expect(reply).toContain(
      'you are not an approver of web, so you cannot approve its plan: approvers are U0APPROVER, U0APPROVER2, members of S0OPS',
    );
    expect(await status(runId)).toBe('awaiting_plan_approval');
    expect((await b.h.core.getRun(runId)).approvals).toEqual([]);
    const cancel = await clickReply(planned, ACTION_IDS.cancelRun, { user: 'U0STRANGER' });
    expect(cancel).toContain('only the requester (U0REQUESTER) or an approver of web');
    await new Promise((r) => setTimeout(r, 500));
    expect(updatesOf(planned.ts)).toBe(updates);
    expect(await status(runId)).toBe('awaiting_plan_approval');
  });

  it('the self-approval rule (the requester is an approver through a user group)', async () => {
    const runId = await start('web image_tag=4.0.0', 'U0REQUESTER');
    const planned = await waitStatus(runId, 'Awaiting plan');
    const reply = await clickReply(planned, ACTION_IDS.approvePlan, { user: 'U0REQUESTER' });
    expect(reply).toContain(
      'you requested this run, so you cannot approve its plan yourself: ask another approver of web',
    );
    expect(await status(runId)).toBe('awaiting_plan_approval');
    // A member of the group who did not request it may.
    await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0GROUPIE' });
    await waitStatus(runId, 'Awaiting apply');
    expect(b.slack.callsTo('usergroups.users.list').some((c) => c.args.usergroup === 'S0OPS')).toBe(
      true,
    );
  });

  it('the channel rule', async () => {
    const runId = await start('limited');
    const planned = await waitStatus(runId, 'Awaiting plan');
    const reply = await clickReply(planned, ACTION_IDS.approvePlan, {
      user: 'U0APPROVER',
      channel: 'C0ELSEWHERE',
    });
    // A real channel link, not its escaped text.
    expect(reply).toContain('limited cannot be run from this channel: use <#C0DEPLOYS>');
    expect(reply).not.toContain('&lt;#');
    expect(await status(runId)).toBe('awaiting_plan_approval');
    await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER' });
    await waitStatus(runId, 'Awaiting apply');
  });

  it('user groups: resolved with usergroups.users.list, cached, and a Slack outage is said so', async () => {
    const runId = await start('grouped');
    const planned = await waitStatus(runId, 'Awaiting plan');
    b.slack.fail('usergroups.users.list', { status: 503 }, 1);
    const reply = await clickReply(planned, ACTION_IDS.approvePlan, { user: 'U0LEAD1' });
    expect(reply).toContain(
      'Slack could not confirm that you are a member of user group S0LEADS (Slack is unavailable: HTTP 503), so nothing was changed: try again in a moment',
    );
    expect(await status(runId)).toBe('awaiting_plan_approval');
    const calls = () =>
      b.slack.callsTo('usergroups.users.list').filter((c) => c.args.usergroup === 'S0LEADS').length;
    await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0LEAD1' });
    const awaiting = await waitStatus(runId, 'Awaiting apply');
    const after = calls();
    await b.click(awaiting, ACTION_IDS.confirmApply, { user: 'U0LEAD2' });
    await waitStatus(runId, 'Completed');
    expect(calls()).toBe(after);
  });
});

describe('every button in every status', () => {
  it('stale clicks say "this run is now <status>" and the message is re-rendered', async () => {
    const runId = await start('web image_tag=5.0.0');
    await waitStatus(runId, 'Awaiting plan');
    await b.click(await waitStatus(runId, 'Awaiting plan'), ACTION_IDS.approvePlan, {
      user: 'U0APPROVER',
    });
    const current = await waitStatus(runId, 'Awaiting apply');
    const atPlan = snapshot(current, 'Awaiting plan');
    const atApply = snapshot(current, 'Awaiting apply');

    // Approve again from the old version of the message.
    let updates = updatesOf(current.ts);
    expect(await clickReply(atPlan, ACTION_IDS.approvePlan, { user: 'U0APPROVER2' })).toContain(
      'this run is now awaiting apply approval',
    );
    await b.slack.waitFor(() => updatesOf(current.ts) > updates);
    expect(shownStatus(b.messagesOf(runId)[0]!)).toMatch(/^Awaiting apply/);
    expect((await b.h.core.getRun(runId)).approvals).toHaveLength(1);

    await b.click(atApply, ACTION_IDS.confirmApply, { user: 'U0APPROVER' });
    await waitStatus(runId, 'Completed');
    updates = updatesOf(current.ts);
    const cases: [FakeMessage, string, string][] = [
      [atApply, ACTION_IDS.confirmApply, 'this run is now completed'],
      [atPlan, ACTION_IDS.approvePlan, 'this run is now completed'],
      [atApply, ACTION_IDS.cancelRun, 'this run is already completed'],
      [atPlan, ACTION_IDS.cancelRun, 'this run is already completed'],
    ];
    for (const [message, action, expected] of cases) {
      expect(await clickReply(message, action, { user: 'U0APPROVER' })).toContain(expected);
    }
    expect(await status(runId)).toBe('completed');
    expect((await b.h.core.transitions(runId)).filter((t) => t.to === 'applying')).toHaveLength(1);
    await b.slack.waitFor(() => updatesOf(current.ts) > updates);
    expect(shownStatus(b.messagesOf(runId)[0]!)).toBe('Completed');
  });

  it('clicks on an outdated message, one after another: each is answered, the message is refreshed at most once a second', async () => {
    const runId = await start('web image_tag=5.1.0');
    await b.click(await waitStatus(runId, 'Awaiting plan'), ACTION_IDS.approvePlan, {
      user: 'U0APPROVER',
    });
    const current = await waitStatus(runId, 'Awaiting apply');
    const atPlan = snapshot(current, 'Awaiting plan');
    await new Promise((r) => setTimeout(r, 1200));
    const since = Date.now();
    for (let i = 0; i < 8; i++) {
      const reply = await clickReply(atPlan, ACTION_IDS.approvePlan, { user: 'U0APPROVER2' });
      expect(reply).toContain('this run is now awaiting apply approval');
      await new Promise((r) => setTimeout(r, 250));
    }
    await new Promise((r) => setTimeout(r, 1500));
    // Slack allows chat.update about once a second per message; people clicking
    // an old message again and again must not exceed it.
    const at = b.slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === current.ts && c.at >= since)
      .map((c) => c.at);
    expect(at.length).toBeGreaterThanOrEqual(1);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(Math.min(...gaps, 1000)).toBeGreaterThanOrEqual(950);
    expect(shownStatus(b.messagesOf(runId)[0]!)).toMatch(/^Awaiting apply/);
    expect((await b.h.core.getRun(runId)).approvals).toHaveLength(1);
  });

  it('Cancel while applying is refused: the changes are in progress', async () => {
    const runId = await start('slowapply');
    await b.click(await waitStatus(runId, 'Awaiting plan'), ACTION_IDS.approvePlan, {
      user: 'U0APPROVER',
    });
    const awaiting = await waitStatus(runId, 'Awaiting apply');
    await b.click(awaiting, ACTION_IDS.confirmApply, { user: 'U0APPROVER' });
    await b.h.waitFor(runId, 'applying');
    const reply = await clickReply(awaiting, ACTION_IDS.cancelRun, { user: 'U0REQUESTER' });
    expect(reply).toContain(
      'this run is applying and cannot be cancelled: the changes are in progress',
    );
    expect(reply).toContain('is *applying*');
    await waitStatus(runId, 'Completed');
  });

  it('a click on a message Slack could not update (cancelled from the terminal meanwhile)', async () => {
    const runId = await start('web image_tag=6.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    await b.slack.waitFor(() => b.slack.thread(CHANNEL, planned.ts).length > 0);
    b.slack.fail('chat.update', { status: 500 }, Number.POSITIVE_INFINITY);
    try {
      await b.h.core.cancelRun(runId, { id: 'U0APPROVER', via: 'cli' }, { reason: 'not today' });
      await new Promise((r) => setTimeout(r, 400));
      expect(shownStatus(b.messagesOf(runId)[0]!)).toMatch(/^Awaiting plan/);
    } finally {
      b.slack.clearFaults();
    }
    const reply = await clickReply(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER2' });
    expect(reply).toContain('this run is now cancelled');
    const truth = await waitStatus(runId, 'Cancelled');
    expect(messageText(truth)).toContain('by <@U0APPROVER>: not today');
  });
});

describe('races and duplicates', () => {
  it('two people clicking Approve at once give one approval', async () => {
    const runId = await start('web image_tag=7.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    const [one, two, three] = await Promise.all([
      b.click(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER' }),
      b.click(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER2' }),
      b.click(planned, ACTION_IDS.approvePlan, { user: 'U0GROUPIE' }),
    ]);
    await waitStatus(runId, 'Awaiting apply');
    await new Promise((r) => setTimeout(r, 500));
    const replies = [one!, two!, three!].map((r) => b.slack.responsesFor(r.responseUrl));
    expect(replies.filter((r) => r.length === 0)).toHaveLength(1);
    for (const r of replies.filter((x) => x.length > 0)) {
      expect(JSON.stringify(r[0]?.body)).toContain('this run is now awaiting apply approval');
    }
    const run = await b.h.core.getRun(runId);
    expect(run.approvals).toHaveLength(1);
    expect(
      (await b.h.core.transitions(runId)).filter((t) => t.to === 'awaiting_apply_approval'),
    ).toHaveLength(1);
  });

  it('a duplicated delivery of a click acts once and answers once', async () => {
    const runId = await start('web image_tag=8.0.0');
    const planned = await waitStatus(runId, 'Awaiting plan');
    const triggerId = `click-${Date.now()}`;
    const first = await b.click(planned, ACTION_IDS.approvePlan, { user: 'U0APPROVER', triggerId });
    const second = await b.click(planned, ACTION_IDS.approvePlan, {
      user: 'U0APPROVER',
      triggerId,
    });
    expect([first.status, second.status]).toEqual([200, 200]);
    await waitStatus(runId, 'Awaiting apply');
    await new Promise((r) => setTimeout(r, 400));
    expect(b.slack.responsesFor(first.responseUrl)).toHaveLength(0);
    expect(b.slack.responsesFor(second.responseUrl)).toHaveLength(0);
    expect((await b.h.core.getRun(runId)).approvals).toHaveLength(1);
  });
});

describe('buttons act only on the run they were rendered for', () => {
  let runA: string;
  let runB: string;
  let messageA: FakeMessage;
  beforeAll(async () => {
    runA = await start('web image_tag=9.0.0');
    messageA = await waitStatus(runA, 'Awaiting plan');
    runB = await start('web image_tag=9.0.1');
    await waitStatus(runB, 'Awaiting plan');
  });

  it('a value naming another run is refused', async () => {
    const value = encodeButtonValue({ runId: runB, version: 1, planId: null });
    const reply = await clickReply(messageA, ACTION_IDS.approvePlan, { user: 'U0APPROVER', value });
    expect(reply).toContain(`this button does not belong to run ${runB}`);
    expect(await status(runA)).toBe('awaiting_plan_approval');
    expect(await status(runB)).toBe('awaiting_plan_approval');
  });

  it('a value with another plan is refused by the core (the plan changed)', async () => {
    const original = parseButtonValue(buttonOf(messageA, ACTION_IDS.approvePlan)?.value);
    const value = encodeButtonValue({
      runId: runA,
      version: original?.version ?? 1,
      planId: 'plan-other',
    });
    const reply = await clickReply(messageA, ACTION_IDS.approvePlan, { user: 'U0APPROVER', value });
    expect(reply).toContain('since the one you saw (plan-other): review it first');
    expect(await status(runA)).toBe('awaiting_plan_approval');
  });

  it('a malformed value, and a button on another message', async () => {
    expect(
      await clickReply(messageA, ACTION_IDS.approvePlan, { user: 'U0APPROVER', value: 'not json' }),
    ).toContain('this button carries no run deploy-bot can act on');
    const elsewhere = { ...messageA, ts: '1699999999.000001' };
    expect(await clickReply(elsewhere, ACTION_IDS.approvePlan, { user: 'U0APPROVER' })).toContain(
      `this is not the message of run ${runA}`,
    );
    expect(await status(runA)).toBe('awaiting_plan_approval');
  });

  it('unknown action ids are answered and never acted on', async () => {
    const mystery: FakeMessage = {
      ...messageA,
      blocks: [
        {
          type: 'actions',
          block_id: `actions:${runA}`,
          elements: [
            {
              type: 'button',
              action_id: 'launch_missiles',
              text: { type: 'plain_text', text: 'Launch' },
              value: encodeButtonValue({ runId: runA, version: 1, planId: null }),
            },
          ],
        },
      ],
    };
    expect(await clickReply(mystery, 'launch_missiles', { user: 'U0APPROVER' })).toContain(
      'deploy-bot does not know this button',
    );
    expect(await status(runA)).toBe('awaiting_plan_approval');
  });
});
