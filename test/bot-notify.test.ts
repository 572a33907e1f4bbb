// Telling the approvers: a run that reaches a step needing a person tells the
// people who may decide it, once per step even with two serve processes
// delivering (slack_notices), in the run's thread (mentions) or by DM (the
// run's buttons; once decided, every DM says who decided and loses them).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../src/bot/app.ts';
import { localBotPort } from '../src/bot/local-port.ts';
import { createLog } from '../src/bot/log.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import { DeployCore } from '../src/core/api/core.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { type BotHarness, CHANNEL, startBotHarness } from './support/bot-harness.ts';
import {
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeMessage,
} from './support/fake-slack.ts';
import { findButtons, TEST_SIGNING_SECRET } from './support/slack-signing.ts';

const deployment = (name: string, extra: string) => `
  - name: ${name}
    environment: production
    approvers: [U0APPROVER, S0OPS]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
${extra}`;
const CONFIG = `
deployments:
${deployment('threaded', '')}
${deployment('direct', '    notify: dm')}
${deployment('quiet', '    notify: none')}
${deployment('nagged', '    remind: 1s')}
`;
const FILES = {
  'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let b: BotHarness;
let core2: DeployCore;
let bot2: RunningBot;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: FILES,
    slack: { userGroups: { S0OPS: ['U0GROUPIE', 'U0REQUESTER'] } },
  });
  // A second serve process on the same database and Slack.
  core2 = await DeployCore.open({
    databaseUrl: b.h.db.url,
    dataDir: b.h.dataDir,
    config: parseConfig(CONFIG.replaceAll('{{dir}}', b.h.dir), `${b.h.dir}/deploy.config.yaml`),
    migrate: false,
    poolSize: 4,
  });
  bot2 = await startBot({
    core: localBotPort(core2),
    botToken: FAKE_SLACK_TOKEN,
    mode: { kind: 'http', signingSecret: TEST_SIGNING_SECRET },
    port: 0,
    host: '127.0.0.1',
    slackApiUrl: b.slack.url,
    botId: FAKE_BOT_ID,
    botUserId: FAKE_BOT_USER_ID,
    log: createLog({ level: 'error', sink: () => {} }),
    outbox: { sweepMs: 400, maxBackoffMs: 1500 },
  });
});
afterAll(async () => {
  await bot2?.stop();
  await core2?.close();
  await b?.close();
});

const notices = (m: FakeMessage) =>
  b.slack.thread(CHANNEL, m.ts).filter((r) => r.text.includes('waits for one of you'));

async function requestAndWait(name: string) {
  const res = await b.command(name);
  const runId = await b.runIdOf(res);
  await b.h.waitFor(runId, 'awaiting_plan_approval');
  const message = await b.messageWhere(runId, (m) =>
    findButtons(m.blocks).some((x) => x.actionId === 'approve_plan'),
  );
  return { runId, message };
}

/** Both processes deliver the run at once, several times: nothing more may be sent. */
async function deliverFromBoth(runId: string) {
  for (let i = 0; i < 3; i++) {
    await Promise.all([
      b.bot.outbox.syncRun(runId),
      bot2.outbox.syncRun(runId),
      b.bot.outbox.sweep(),
      bot2.outbox.sweep(),
    ]);
  }
  await new Promise((r) => setTimeout(r, 500));
}

describe('telling the approvers', () => {
  it('notify: thread mentions users and groups once per step, with two serve processes', async () => {
    const { runId, message } = await requestAndWait('threaded');
    const first = await b.slack.waitFor(() => notices(message)[0]);
    expect(first.text).toContain('<@U0APPROVER>');
    expect(first.text).toContain('<!subteam^S0OPS>');
    expect(first.text).toContain('approve its plan');
    // The requester may not approve their own run: not mentioned.
    expect(first.text).not.toContain('U0REQUESTER');
    await deliverFromBoth(runId);
    expect(notices(message)).toHaveLength(1);

    await b.click(message, 'approve_plan', { user: 'U0APPROVER' });
    await b.h.waitFor(runId, 'awaiting_apply_approval');
    await b.slack.waitFor(() => notices(message).length === 2);
    await deliverFromBoth(runId);
    const all = notices(message);
    expect(all).toHaveLength(2);
    expect(all[1]?.text).toContain('confirm the apply');
  });

  it('notify: dm writes to each person who may decide, with the buttons; once decided every DM says who and loses them', async () => {
    const { runId, message } = await requestAndWait('direct');
    const approverDm = b.slack.dmChannel('U0APPROVER');
    const groupieDm = b.slack.dmChannel('U0GROUPIE');
    const [a, g] = await b.slack.waitFor(() => {
      const x = b.slack.channelMessages(approverDm).find((m) => m.text.includes(runId));
      const y = b.slack.channelMessages(groupieDm).find((m) => m.text.includes(runId));
      return x && y ? [x, y] : null;
    });
    // The requester is in S0OPS but may not approve their own run: no DM.
    expect(b.slack.channelMessages(b.slack.dmChannel('U0REQUESTER'))).toEqual([]);
    for (const dm of [a!, g!]) {
      expect(validateBlocks(dm.blocks)).toEqual([]);
      expect(findButtons(dm.blocks).map((x) => x.actionId)).toContain('approve_plan');
    }
    // No thread mention for a dm deployment.
    expect(notices(message)).toEqual([]);
    await deliverFromBoth(runId);
    expect(
      b.slack.callsTo('conversations.open').filter((c) => c.args.users === 'U0APPROVER'),
    ).toHaveLength(1);

    // The group member approves from their DM: same policy, same run and plan.
    const click = await b.click(g!, 'approve_plan', { user: 'U0GROUPIE' });
    expect(click.status).toBe(200);
    await b.h.waitFor(runId, 'awaiting_apply_approval');
    for (const dm of [a!, g!]) {
      await b.slack.waitFor(() => dm.text.includes('plan approved by <@U0GROUPIE>') || null);
      expect(findButtons(dm.blocks)).toEqual([]);
      expect(JSON.stringify(dm.blocks)).toContain('plan approved by <@U0GROUPIE>');
    }
    // The next step: new DMs (the decider is an approver too, and is told again).
    await b.slack.waitFor(
      () =>
        b.slack.channelMessages(approverDm).filter((m) => m.text.includes('confirm the apply'))
          .length === 1,
    );
    // A click on a decided DM's (old) button is refused by the core, not acted on.
    const stale = await b.click({ ...a!, blocks: a!.versions[0]!.blocks }, 'approve_plan', {
      user: 'U0APPROVER',
    });
    const [reply] = await b.replies(stale.responseUrl);
    expect(reply).toContain('this run is now');
  });

  it('notify: none tells nobody', async () => {
    const opens = b.slack.callsTo('conversations.open').length;
    const { runId, message } = await requestAndWait('quiet');
    await deliverFromBoth(runId);
    expect(notices(message)).toEqual([]);
    expect(b.slack.callsTo('conversations.open')).toHaveLength(opens);
  });

  it('remind: tells them once more when the step still waits', async () => {
    const { runId, message } = await requestAndWait('nagged');
    await b.slack.waitFor(() => notices(message).length === 2, 8000);
    expect(notices(message)[1]?.text).toContain('Still waiting');
    await deliverFromBoth(runId);
    await new Promise((r) => setTimeout(r, 1200));
    await deliverFromBoth(runId);
    expect(notices(message)).toHaveLength(2);
  });
});
