import {
  type Logger,
  LogLevel,
  type View,
  type WebAPIHTTPError,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
  WebClient,
} from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACTION_IDS, parseButtonValue } from '../src/bot/render/actions.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import {
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeSlack,
  startFakeSlack,
} from './support/fake-slack.ts';
import { makeRun } from './support/run-fixtures.ts';
import {
  blockActionsBody,
  blockActionsPayload,
  findButtons,
  signSlackRequest,
  slashCommandBody,
} from './support/slack-signing.ts';

let slack: FakeSlack;
let client: WebClient;

/** Keeps the expected errors of these tests out of the output. */
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};
const options = (url: string) => ({ slackApiUrl: url, retryConfig: { retries: 0 }, logger: quiet });

beforeAll(async () => {
  slack = await startFakeSlack({ userGroups: { S0APPROVERS: ['U0APPROVER', 'U0OTHER'] } });
  client = new WebClient(FAKE_SLACK_TOKEN, options(slack.url));
});
afterAll(async () => {
  await slack.close();
});
beforeEach(() => {
  slack.reset();
});

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

async function slackError(promise: Promise<unknown>): Promise<string> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(Error);
  const data = (error as WebAPIPlatformError).data;
  expect(data?.ok).toBe(false);
  return data.error ?? '';
}

describe('fake Slack: messages', () => {
  it('answers auth.test and refuses a wrong token', async () => {
    const me = await client.auth.test();
    expect(me.user_id).toBe(FAKE_BOT_USER_ID);
    const wrong = new WebClient('xoxb-wrong', {
      slackApiUrl: slack.url,
      retryConfig: { retries: 0 },
    });
    expect(await slackError(wrong.auth.test())).toBe('invalid_auth');
    expect(slack.calls.map((c) => [c.method, c.token])).toEqual([
      ['auth.test', FAKE_SLACK_TOKEN],
      ['auth.test', 'xoxb-wrong'],
    ]);
  });

  it('posts and updates a message, keeping every version', async () => {
    const run = makeRun({ status: 'awaiting_plan_approval' });
    const first = renderRunMessage(run);
    const posted = await client.chat.postMessage({ channel: 'C0DEPLOYS', ...first });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe('C0DEPLOYS');
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message?.blocks).toEqual(first.blocks);
    const reply = await client.chat.postMessage({
      channel: 'C0DEPLOYS',
      thread_ts: posted.ts!,
      text: 'the plan',
    });
    expect(Number(reply.ts)).toBeGreaterThan(Number(posted.ts));

    const second = renderRunMessage({ ...run, status: 'awaiting_apply_approval', version: 8 });
    const updated = await client.chat.update({ channel: 'C0DEPLOYS', ts: posted.ts!, ...second });
    expect(updated.ts).toBe(posted.ts);
    // Text only: the blocks stay, as in Slack.
    await client.chat.update({ channel: 'C0DEPLOYS', ts: posted.ts!, text: 'new text' });

    const stored = slack.message('C0DEPLOYS', posted.ts!);
    expect(stored?.versions.map((v) => v.method)).toEqual([
      'chat.postMessage',
      'chat.update',
      'chat.update',
    ]);
    expect(stored?.versions[1]?.blocks).toEqual(second.blocks);
    expect(stored?.blocks).toEqual(second.blocks);
    expect(stored?.text).toBe('new text');
    expect(slack.thread('C0DEPLOYS', posted.ts!).map((m) => m.text)).toEqual(['the plan']);
    expect(slack.channelMessages('C0DEPLOYS')).toHaveLength(2);
    // Recorded args are parsed: blocks are objects, not the form's JSON string.
    expect(slack.callsTo('chat.postMessage')[0]?.args.blocks).toEqual(first.blocks);
    expect(slack.callsTo('chat.postMessage')[0]?.contentType).toContain(
      'application/x-www-form-urlencoded',
    );
  });

  it('refuses to update unknown messages and messages of people', async () => {
    expect(
      await slackError(client.chat.update({ channel: 'C0DEPLOYS', ts: '1.000000', text: 'x' })),
    ).toBe('message_not_found');
    const human = slack.seedMessage('C0DEPLOYS', { text: 'hi', user: 'U0HUMAN' });
    expect(
      await slackError(client.chat.update({ channel: 'C0DEPLOYS', ts: human.ts, text: 'x' })),
    ).toBe('cant_update_message');
    expect(await slackError(client.chat.postMessage({ channel: 'C0DEPLOYS', text: '' }))).toBe(
      'no_text',
    );
  });

  it('answers invalid_blocks exactly when the blocks break a limit', async () => {
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' as const }));
    const error = await rejection(
      client.chat.postMessage({ channel: 'C1', text: 'x', blocks: tooMany }),
    );
    expect((error as WebAPIPlatformError).data.error).toBe('invalid_blocks');
    expect(JSON.stringify((error as WebAPIPlatformError).data.response_metadata)).toContain(
      '51 blocks',
    );
    expect(
      await slackError(
        client.chat.postMessage({
          channel: 'C1',
          text: 'x',
          blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
        }),
      ),
    ).toBe('invalid_blocks');
    const long = Array.from({ length: 5 }, () => ({
      type: 'section' as const,
      text: { type: 'mrkdwn' as const, text: 'x'.repeat(2500) },
    }));
    expect(
      await slackError(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: long })),
    ).toBe('msg_blocks_too_long');
    // A valid update is checked too.
    const posted = await client.chat.postMessage({
      channel: 'C1',
      text: 'x',
      blocks: tooMany.slice(0, 50),
    });
    expect(
      await slackError(client.chat.update({ channel: 'C1', ts: posted.ts!, blocks: tooMany })),
    ).toBe('invalid_blocks');
    expect(slack.message('C1', posted.ts!)?.versions).toHaveLength(1);
  });

  it('answers the other methods the bot uses', async () => {
    const posted = await client.chat.postMessage({ channel: 'C0DEPLOYS', text: 'hello' });
    const link = await client.chat.getPermalink({ channel: 'C0DEPLOYS', message_ts: posted.ts! });
    expect(link.permalink).toContain(`/archives/C0DEPLOYS/p${posted.ts!.replace('.', '')}`);
    const ephemeral = await client.chat.postEphemeral({
      channel: 'C0DEPLOYS',
      user: 'U012ABCDEF',
      text: 'only you',
    });
    expect(ephemeral.message_ts).toBeTruthy();
    expect(slack.ephemerals).toMatchObject([
      { channel: 'C0DEPLOYS', user: 'U012ABCDEF', text: 'only you' },
    ]);
    const members = await client.usergroups.users.list({ usergroup: 'S0APPROVERS' });
    expect(members.users).toEqual(['U0APPROVER', 'U0OTHER']);
    expect(await slackError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).toBe(
      'no_such_subteam',
    );
    slack.userGroups.set('S0NEW', ['U1']);
    expect((await client.usergroups.users.list({ usergroup: 'S0NEW' })).users).toEqual(['U1']);
    const user = await client.users.info({ user: 'U012ABCDEF' });
    expect(user.user?.id).toBe('U012ABCDEF');
    expect(await slackError(client.users.info({ user: 'not-a-user' }))).toBe('user_not_found');
    const channel = await client.conversations.info({ channel: 'C0DEPLOYS' });
    expect(channel.channel?.id).toBe('C0DEPLOYS');
    expect(await slackError(client.apiCall('nope.nothing'))).toBe('unknown_method');
  });

  it('parses JSON bodies with a bearer token', async () => {
    const res = await fetch(`${slack.url}chat.postMessage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        authorization: `Bearer ${FAKE_SLACK_TOKEN}`,
      },
      body: JSON.stringify({ channel: 'C2', text: 'json', blocks: [{ type: 'divider' }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C2' });
    expect(slack.calls[0]).toMatchObject({
      method: 'chat.postMessage',
      token: FAKE_SLACK_TOKEN,
      args: { channel: 'C2', text: 'json', blocks: [{ type: 'divider' }] },
    });
  });

  it('only posts to configured channels when channels are given', async () => {
    const strict = await startFakeSlack({
      channels: { C0OK: { name: 'deploys' }, C0OUT: { is_member: false } },
    });
    try {
      const c = new WebClient(FAKE_SLACK_TOKEN, {
        slackApiUrl: strict.url,
        retryConfig: { retries: 0 },
      });
      await c.chat.postMessage({ channel: 'C0OK', text: 'x' });
      expect(await slackError(c.chat.postMessage({ channel: 'C0OUT', text: 'x' }))).toBe(
        'not_in_channel',
      );
      expect(await slackError(c.chat.postMessage({ channel: 'C0NONE', text: 'x' }))).toBe(
        'channel_not_found',
      );
      expect((await c.conversations.info({ channel: 'C0OK' })).channel?.name).toBe('deploys');
    } finally {
      await strict.close();
    }
  });
});

describe('fake Slack: faults', () => {
  it('rate limits with HTTP 429 and Retry-After', async () => {
    slack.fail('chat.update', { error: 'ratelimited', retryAfter: 7 });
    const raw = await fetch(`${slack.url}chat.update`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FAKE_SLACK_TOKEN}` },
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });

    slack.fail('chat.postMessage', { error: 'ratelimited', retryAfter: 3 });
    const rejecting = new WebClient(FAKE_SLACK_TOKEN, {
      ...options(slack.url),
      rejectRateLimitedCalls: true,
    });
    const error = await rejection(rejecting.chat.postMessage({ channel: 'C1', text: 'x' }));
    expect(error).toBeInstanceOf(Error);
    expect((error as WebAPIRateLimitedError).code).toBe('slack_webapi_rate_limited_error');
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(3);
    // Only once (the default): the next call goes through.
    await rejecting.chat.postMessage({ channel: 'C1', text: 'x' });
    expect(slack.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
  });

  it('answers HTTP 500 when told, for as many calls as told', async () => {
    slack.fail('chat.postMessage', { status: 500 }, 2);
    for (let i = 0; i < 2; i++) {
      const error = await rejection(client.chat.postMessage({ channel: 'C1', text: 'x' }));
      expect((error as WebAPIHTTPError).code).toBe('slack_webapi_http_error');
      expect((error as WebAPIHTTPError).statusCode).toBe(500);
    }
    await client.chat.postMessage({ channel: 'C1', text: 'x' });
    expect(slack.channelMessages('C1')).toHaveLength(1);
  });

  it('answers a Slack error for any method with "*"', async () => {
    slack.fail('*', { error: 'fatal_error' }, Number.POSITIVE_INFINITY);
    expect(await slackError(client.auth.test())).toBe('fatal_error');
    expect(await slackError(client.chat.postMessage({ channel: 'C1', text: 'x' }))).toBe(
      'fatal_error',
    );
    slack.clearFaults();
    await client.auth.test();
  });

  it('is down for a while, then up', async () => {
    slack.down(60_000);
    const error = await rejection(client.auth.test());
    expect((error as WebAPIHTTPError).statusCode).toBe(503);
    slack.up();
    await client.auth.test();
    slack.down(30);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await client.auth.test();
  });
});

describe('fake Slack: uploads and response_url', () => {
  it('runs the files.uploadV2 flow against itself', async () => {
    const plan = `Terraform plan\n${'  + resource\n'.repeat(10_000)}`;
    const result = await client.files.uploadV2({
      channel_id: 'C0DEPLOYS',
      filename: 'plan.txt',
      title: 'Full plan',
      content: plan,
      initial_comment: 'The complete plan',
    });
    expect(result.ok).toBe(true);
    expect(slack.calls.map((c) => c.method)).toEqual([
      'files.getUploadURLExternal',
      'files.completeUploadExternal',
    ]);
    const [file] = [...slack.files.values()];
    expect(file?.completed).toBe(true);
    expect(file?.content?.toString('utf8')).toBe(plan);
    expect(file).toMatchObject({
      filename: 'plan.txt',
      title: 'Full plan',
      channel: 'C0DEPLOYS',
      initialComment: 'The complete plan',
    });
  });

  it('refuses to complete an upload that never happened', async () => {
    const url = await client.files.getUploadURLExternal({ filename: 'x.txt', length: 3 });
    expect(url.upload_url?.startsWith(slack.origin)).toBe(true);
    expect(
      await slackError(client.files.completeUploadExternal({ files: [{ id: url.file_id! }] })),
    ).toBe('file_not_found');
  });

  it('records JSON posted to a response_url, at most five times', async () => {
    const url = slack.responseUrl();
    expect(slack.responseUrl()).not.toBe(url);
    for (let i = 0; i < 5; i++) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', text: `reply ${i}` }),
      });
      expect(res.status).toBe(200);
    }
    const sixth = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ text: 'one too many' }),
    });
    expect(sixth.status).toBe(404);
    expect(slack.responsesFor(url).map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404]);
    expect(slack.responses[0]?.body).toEqual({ response_type: 'ephemeral', text: 'reply 0' });
    const bad = await fetch(slack.responseUrl(), {
      method: 'POST',
      body: JSON.stringify({
        blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(200) } }],
      }),
    });
    expect(bad.status).toBe(400);
  });

  it('waitFor resolves when a condition holds', async () => {
    setTimeout(() => void client.chat.postMessage({ channel: 'C9', text: 'later' }), 30);
    const message = await slack.waitFor(() => slack.channelMessages('C9')[0]);
    expect(message.text).toBe('later');
    await expect(slack.waitFor(() => false, 50)).rejects.toThrow('not met');
  });
});

describe('Slack request signing and payloads', () => {
  it("matches Slack's published example", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618)).toEqual({
      'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      'x-slack-request-timestamp': '1531420618',
    });
    const now = signSlackRequest('s', 'b');
    expect(Math.abs(Number(now['x-slack-request-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('builds a slash command body', () => {
    const responseUrl = slack.responseUrl();
    const body = new URLSearchParams(
      slashCommandBody({
        text: 'web-prod image_tag="1.4 beta"',
        userId: 'U1',
        channelId: 'C1',
        responseUrl,
      }),
    );
    expect(body.get('command')).toBe('/deploy');
    expect(body.get('text')).toBe('web-prod image_tag="1.4 beta"');
    expect(body.get('user_id')).toBe('U1');
    expect(body.get('response_url')).toBe(responseUrl);
    expect(body.get('trigger_id')).toBeTruthy();
  });

  it('builds a block_actions payload from a posted message', async () => {
    const run = makeRun({ status: 'awaiting_plan_approval' });
    const posted = await client.chat.postMessage({
      channel: 'C0DEPLOYS',
      ...renderRunMessage(run),
    });
    const message = slack.message('C0DEPLOYS', posted.ts!)!;
    expect(findButtons(message.blocks).map((b) => b.actionId)).toEqual([
      ACTION_IDS.approvePlan,
      ACTION_IDS.cancelRun,
    ]);
    const responseUrl = slack.responseUrl();
    const body = blockActionsBody({
      message,
      channelId: 'C0DEPLOYS',
      userId: 'U0APPROVER',
      actionId: 'approve_plan',
      responseUrl,
    });
    const payload = JSON.parse(new URLSearchParams(body).get('payload')!);
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0APPROVER' },
      channel: { id: 'C0DEPLOYS' },
      container: { message_ts: posted.ts, channel_id: 'C0DEPLOYS' },
      message: { ts: posted.ts },
      response_url: responseUrl,
      actions: [{ action_id: 'approve_plan', block_id: `actions:${run.id}`, type: 'button' }],
    });
    expect(parseButtonValue(payload.actions[0].value)).toEqual({
      runId: run.id,
      version: run.version,
      planId: 'plan-7f3a',
    });
    expect(payload.trigger_id).toBeTruthy();
    expect(payload.actions[0].action_ts).toMatch(/^\d+\.\d+$/);
    // A button that is not on the message cannot be clicked.
    expect(() =>
      blockActionsPayload({
        message,
        channelId: 'C0DEPLOYS',
        userId: 'U1',
        actionId: 'confirm_apply',
        responseUrl,
      }),
    ).toThrow('no button');
  });
});

describe('fake Slack: views and DMs', () => {
  const modal = (blocks: unknown[] = [], extra: Record<string, unknown> = {}): View =>
    ({
      type: 'modal',
      title: { type: 'plain_text', text: 'Deploy' },
      close: { type: 'plain_text', text: 'Cancel' },
      blocks,
      ...extra,
    }) as View;
  const input = (element: Record<string, unknown>, blockId = 'b1') => ({
    type: 'input',
    block_id: blockId,
    label: { type: 'plain_text', text: 'Image tag' },
    element: { action_id: 'value', ...element },
  });
  const submit = { submit: { type: 'plain_text', text: 'Deploy' } };

  it('views.open takes a trigger id once, for 3 seconds', async () => {
    const trigger = slack.triggerId({ user: 'U0REQUESTER' });
    const opened = await client.views.open({ trigger_id: trigger, view: modal() });
    expect(opened.view?.id).toMatch(/^V/);
    expect(opened.view?.hash).toBeTruthy();
    expect(slack.modals()).toHaveLength(1);
    expect(slack.modals()[0]?.user).toBe('U0REQUESTER');
    expect(await slackError(client.views.open({ trigger_id: trigger, view: modal() }))).toBe(
      'expired_trigger_id',
    );
    const old = `${Date.now() - 3100}.1.faketrigger`;
    expect(await slackError(client.views.open({ trigger_id: old, view: modal() }))).toBe(
      'expired_trigger_id',
    );
    expect(await slackError(client.views.open({ trigger_id: 'made-up', view: modal() }))).toBe(
      'invalid_trigger_id',
    );
  });

  it('rejects views that break the limits, and says which', async () => {
    const cases: [string, unknown, string][] = [
      [
        'title too long',
        modal([], { title: { type: 'plain_text', text: 'x'.repeat(25) } }),
        'view.title',
      ],
      ['input without submit', modal([input({ type: 'plain_text_input' })]), 'needs submit'],
      ['101 blocks', modal(Array.from({ length: 101 }, () => ({ type: 'divider' }))), '101 blocks'],
      ['metadata', modal([], { private_metadata: 'm'.repeat(3001) }), 'private_metadata'],
      [
        'max_length',
        modal([input({ type: 'plain_text_input', max_length: 3001 })], submit),
        'max_length',
      ],
      [
        'initial value longer than max_length',
        modal([input({ type: 'plain_text_input', max_length: 3, initial_value: 'abcd' })], submit),
        'initial_value',
      ],
      [
        'number_input without is_decimal_allowed',
        modal([input({ type: 'number_input', min_value: '1' })], submit),
        'is_decimal_allowed',
      ],
      [
        'number_input with a number min_value',
        modal([input({ type: 'number_input', is_decimal_allowed: false, min_value: 1 })], submit),
        'min_value',
      ],
      [
        '101 select options',
        modal(
          [
            input({
              type: 'static_select',
              options: Array.from({ length: 101 }, (_, i) => ({
                text: { type: 'plain_text', text: `o${i}` },
                value: `o${i}`,
              })),
            }),
          ],
          submit,
        ),
        '101 options',
      ],
      [
        'option text of 76',
        modal(
          [
            input({
              type: 'static_select',
              options: [{ text: { type: 'plain_text', text: 'o'.repeat(76) }, value: 'o' }],
            }),
          ],
          submit,
        ),
        'options[0].text',
      ],
      [
        '11 checkboxes',
        modal(
          [
            input({
              type: 'checkboxes',
              options: Array.from({ length: 11 }, (_, i) => ({
                text: { type: 'plain_text', text: `c${i}` },
                value: `c${i}`,
              })),
            }),
          ],
          submit,
        ),
        '11 options',
      ],
      [
        'a label of 2001',
        modal(
          [
            {
              ...input({ type: 'plain_text_input' }),
              label: { type: 'plain_text', text: 'l'.repeat(2001) },
            },
          ],
          submit,
        ),
        'label',
      ],
    ];
    for (const [what, view, says] of cases) {
      const error = await rejection(
        client.views.open({ trigger_id: slack.triggerId(), view: view as never }),
      );
      const data = (error as WebAPIPlatformError).data;
      expect(data.error, what).toBe('invalid_arguments');
      expect(JSON.stringify(data.response_metadata), what).toContain(says);
    }
    expect(slack.modals()).toHaveLength(0);
    // The same form within the limits is accepted.
    await client.views.open({
      trigger_id: slack.triggerId(),
      view: modal(
        [
          input({ type: 'plain_text_input', max_length: 3, initial_value: 'abc' }, 'a'),
          input(
            { type: 'number_input', is_decimal_allowed: false, min_value: '1', initial_value: '2' },
            'b',
          ),
        ],
        submit,
      ),
    });
    expect(slack.modals()).toHaveLength(1);
  });

  it('views.update by id or external id, with the hash; views.push up to 3 views', async () => {
    const opened = await client.views.open({
      trigger_id: slack.triggerId(),
      view: modal([], { external_id: 'deploy-form-1' }),
    });
    const id = opened.view!.id!;
    const updated = await client.views.update({
      view_id: id,
      hash: opened.view!.hash!,
      view: modal([{ type: 'section', text: { type: 'mrkdwn', text: 'step 2' } }]),
    });
    expect(updated.view?.hash).not.toBe(opened.view?.hash);
    expect(
      await slackError(
        client.views.update({ view_id: id, hash: opened.view!.hash!, view: modal() }),
      ),
    ).toBe('hash_conflict');
    await client.views.update({ external_id: 'deploy-form-1', view: modal() });
    expect(await slackError(client.views.update({ view_id: 'VNOPE', view: modal() }))).toBe(
      'not_found',
    );
    expect(slack.views.get(id)?.versions.map((v) => v.method)).toEqual([
      'views.open',
      'views.update',
      'views.update',
    ]);
    // A push needs a trigger from inside the modal; the stack holds 3 views.
    expect(
      await slackError(client.views.push({ trigger_id: slack.triggerId(), view: modal() })),
    ).toBe('invalid_arguments');
    await client.views.push({ trigger_id: slack.triggerId({ view: id }), view: modal() });
    await client.views.push({ trigger_id: slack.triggerId({ view: id }), view: modal() });
    expect(
      await slackError(
        client.views.push({ trigger_id: slack.triggerId({ view: id }), view: modal() }),
      ),
    ).toBe('push_limit_reached');
  });

  it('views.publish keeps one Home per user and rate-limits a user publishing too often', async () => {
    const home = (text: string) => ({
      type: 'home' as const,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    });
    const first = await client.views.publish({ user_id: 'U0APPROVER', view: home('one') });
    await client.views.publish({ user_id: 'U0APPROVER', view: home('two') });
    expect(slack.home('U0APPROVER')?.id).toBe(first.view?.id);
    expect(slack.home('U0APPROVER')?.view).toEqual(home('two'));
    expect(
      await slackError(client.views.publish({ user_id: 'U0APPROVER', view: modal() as never })),
    ).toBe('invalid_arguments');
    expect(await slackError(client.views.publish({ user_id: 'bad', view: home('x') }))).toBe(
      'user_not_found',
    );
    for (let i = 0; i < 3; i++)
      await client.views.publish({ user_id: 'U0APPROVER', view: home(`${i}`) });
    const raw = await fetch(`${slack.url}views.publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FAKE_SLACK_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'U0APPROVER', view: home('too often') }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBeTruthy();
    // Another person is not limited by the first one's publishes.
    await client.views.publish({ user_id: 'U0OTHER', view: home('mine') });
  });

  it('conversations.open gives one DM channel per person; the bot posts in it', async () => {
    const dm = await client.conversations.open({ users: 'U0APPROVER' });
    expect(dm.channel?.id).toMatch(/^D/);
    const again = await client.conversations.open({ users: 'U0APPROVER' });
    expect(again.channel?.id).toBe(dm.channel?.id);
    expect(slack.dmChannel('U0APPROVER')).toBe(dm.channel?.id);
    await client.chat.postMessage({ channel: dm.channel!.id!, text: 'waiting for you' });
    expect(slack.channelMessages(dm.channel!.id!).map((m) => m.text)).toEqual(['waiting for you']);
    expect(await slackError(client.conversations.open({ users: '' }))).toBe(
      'users_list_not_supplied',
    );
    expect(await slackError(client.conversations.open({ users: 'nobody' }))).toBe('user_not_found');
  });
});
