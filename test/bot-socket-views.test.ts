// The new surfaces over Socket Mode: `/deploy` alone opens the form, a wrong
// submission is answered in the envelope's ack with `response_action: errors`,
// a right one starts the run; app_home_opened publishes the Home.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../src/bot/app.ts';
import { localBotPort } from '../src/bot/local-port.ts';
import { createLog } from '../src/bot/log.ts';
import { DEPLOY_FORM, variableBlockId } from '../src/bot/render/modal.ts';
import { CHANNEL } from './support/bot-harness.ts';
import {
  FAKE_APP_TOKEN,
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeSlack,
  startFakeSlack,
} from './support/fake-slack.ts';
import { type Harness, startHarness } from './support/harness.ts';
import { viewSelectPayload, viewSubmissionPayload } from './support/slack-views.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      replicas: { type: number, required: true, min: 1, max: 10 }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let h: Harness;
let slack: FakeSlack;
let bot: RunningBot;

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
    log: createLog({ level: 'error', sink: () => {} }),
    outbox: { sweepMs: 400 },
  });
  await slack.socketMode.waitForConnection();
});
afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await h?.close();
});

describe('Socket Mode: the form and the Home', () => {
  it('opens the form, answers a wrong submission with errors in the ack, starts the run on a right one', async () => {
    await slack.socketMode.send('slash_commands', {
      token: 'unused',
      team_id: 'TFAKETEAM1',
      channel_id: CHANNEL,
      user_id: 'U0REQUESTER',
      command: '/deploy',
      text: '',
      api_app_id: 'AFAKEAPP01',
      response_url: slack.responseUrl(),
      trigger_id: slack.triggerId(),
    });
    const modal = await slack.waitFor(() => slack.modals()[0]);
    // One deployment here: already picked, its variables shown.
    const replicas = variableBlockId('web', 'replicas');
    expect(JSON.stringify(modal.view)).toContain(replicas);
    // Picking it again re-renders (block_actions over the socket).
    await slack.socketMode.send(
      'interactive',
      viewSelectPayload({
        view: modal,
        userId: 'U0REQUESTER',
        blockId: DEPLOY_FORM.deploymentBlock,
        actionId: DEPLOY_FORM.deploymentAction,
        value: 'web',
        triggerId: slack.triggerId({ view: modal.id }),
      }),
    );
    await slack.waitFor(() => modal.versions.length >= 2);

    const wrong = await slack.socketMode.send(
      'interactive',
      viewSubmissionPayload({
        view: modal,
        userId: 'U0REQUESTER',
        answers: { [replicas]: '11' },
        triggerId: slack.triggerId(),
      }),
    );
    expect(wrong.payload).toEqual({
      response_action: 'errors',
      errors: { [replicas]: 'replicas="11" is above the maximum 10' },
    });
    const right = await slack.socketMode.send(
      'interactive',
      viewSubmissionPayload({
        view: modal,
        userId: 'U0REQUESTER',
        answers: { [replicas]: '4' },
        triggerId: slack.triggerId(),
      }),
    );
    // An empty ack (Bolt sends {}) closes the modal.
    expect(right.payload ?? {}).toEqual({});
    let [run] = await h.core.listRuns({ deployment: 'web' });
    for (let i = 0; run === undefined && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      [run] = await h.core.listRuns({ deployment: 'web' });
    }
    if (run === undefined) throw new Error('no run started');
    expect(run.variables).toEqual({ replicas: 4 });
    await slack.waitFor(() =>
      slack.channelMessages(CHANNEL).find((m) => m.text.includes('Deploy web')),
    );
  });

  it('publishes the Home on app_home_opened', async () => {
    await slack.socketMode.send('events_api', {
      type: 'event_callback',
      team_id: 'TFAKETEAM1',
      api_app_id: 'AFAKEAPP01',
      event: { type: 'app_home_opened', user: 'U0APPROVER', tab: 'home', channel: 'D1' },
      event_id: 'Ev1',
      event_time: Math.floor(Date.now() / 1000),
    });
    const home = await slack.waitFor(() => slack.home('U0APPROVER'));
    expect(JSON.stringify(home.view)).toContain('Waiting for you');
  });
});
