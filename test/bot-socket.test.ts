// Socket Mode (SLACK_APP_TOKEN): the same commands and clicks arrive over a
// WebSocket from the fake Slack instead of HTTP, for teams without a public URL.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../src/bot/app.ts';
import { localBotPort } from '../src/bot/local-port.ts';
import { createLog, type LogRecord } from '../src/bot/log.ts';
import { ACTION_IDS } from '../src/bot/render/actions.ts';
import { CHANNEL, shownStatus } from './support/bot-harness.ts';
import {
  FAKE_APP_TOKEN,
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeMessage,
  type FakeSlack,
  startFakeSlack,
} from './support/fake-slack.ts';
import { type Harness, startHarness } from './support/harness.ts';
import { blockActionsPayload } from './support/slack-signing.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let h: Harness;
let slack: FakeSlack;
let bot: RunningBot;
const logs: LogRecord[] = [];

beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  slack = await startFakeSlack();
  bot = await startBot({
    core: localBotPort(h.core),
    botToken: FAKE_SLACK_TOKEN,
    mode: { kind: 'socket', appToken: FAKE_APP_TOKEN },
    port: 0,
    host: '127.0.0.1',
    slackApiUrl: slack.url,
    botId: FAKE_BOT_ID,
    botUserId: FAKE_BOT_USER_ID,
    log: createLog({ level: 'debug', sink: (r) => logs.push(r) }),
    outbox: { sweepMs: 400 },
  });
});
afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await h?.close();
});

let counter = 0;
function command(text: string, responseUrl: string, triggerId = `sock-${++counter}-${Date.now()}`) {
  return {
    token: 'unused',
    team_id: 'TFAKETEAM1',
    team_domain: 'fake',
    channel_id: CHANNEL,
    channel_name: 'deploys',
    user_id: 'U0REQUESTER',
    user_name: 'requester',
    command: '/deploy',
    text,
    api_app_id: 'AFAKEAPP01',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: triggerId,
  };
}

function message(runId: string, label: string): Promise<FakeMessage> {
  return slack.waitFor(
    () =>
      slack
        .channelMessages(CHANNEL)
        .find(
          (m) =>
            m.threadTs === null &&
            JSON.stringify(m.blocks).includes(`header:${runId}`) &&
            shownStatus(m).startsWith(label),
        ),
    20_000,
  );
}

describe('Socket Mode', () => {
  it('connects with the app token; health and readiness are served on the port', async () => {
    await slack.socketMode.waitForConnection();
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
    const ready = await fetch(`${bot.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ database: 'ok', slack: 'connected' });
    // No HTTP endpoint for Slack in Socket Mode.
    expect((await fetch(`${bot.url}/slack/events`, { method: 'POST' })).status).toBe(404);
  });

  it('a command and the clicks arrive over the socket, acked at once', async () => {
    const responseUrl = slack.responseUrl();
    const triggerId = `sock-run-${Date.now()}`;
    const ack = await slack.socketMode.send(
      'slash_commands',
      command('web', responseUrl, triggerId),
    );
    expect(ack.ms).toBeLessThan(1000);
    await slack.waitFor(() => slack.responsesFor(responseUrl).length > 0);
    const reply = JSON.stringify(slack.responsesFor(responseUrl)[0]?.body);
    const runId = /run-[0-9a-z]{10}/.exec(reply)?.[0] ?? '';
    expect(reply).toContain('requested');

    // Slack's retry of the same envelope creates nothing more.
    await slack.socketMode.send('slash_commands', command('web', slack.responseUrl(), triggerId), {
      retryAttempt: 1,
    });

    const planned = await message(runId, 'Awaiting plan');
    const click = (m: FakeMessage, actionId: string) =>
      slack.socketMode.send(
        'interactive',
        blockActionsPayload({
          message: m,
          channelId: CHANNEL,
          userId: 'U0APPROVER',
          actionId,
          responseUrl: slack.responseUrl(),
        }),
      );
    expect((await click(planned, ACTION_IDS.approvePlan)).ms).toBeLessThan(1000);
    const awaiting = await message(runId, 'Awaiting apply');
    await click(awaiting, ACTION_IDS.confirmApply);
    await message(runId, 'Completed');
    const runs = await h.core.listRuns({ deployment: 'web' });
    expect(runs.map((r) => r.id)).toEqual([runId]);
  });

  it('reconnects when Slack drops the connection', async () => {
    slack.socketMode.dropAll();
    await new Promise((r) => setTimeout(r, 100));
    await slack.socketMode.waitForConnection(15_000);
    const responseUrl = slack.responseUrl();
    await slack.socketMode.send('slash_commands', command('help', responseUrl));
    await slack.waitFor(() => slack.responsesFor(responseUrl).length > 0);
    expect(JSON.stringify(slack.responsesFor(responseUrl)[0]?.body)).toContain(
      'How to use /deploy',
    );
  });
});
