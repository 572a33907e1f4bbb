// The "Deploy…" form over signed HTTP: `/deploy` with no arguments and the
// global shortcut open it within the trigger's 3 seconds, picking a deployment
// shows its variables as typed inputs, a submission with wrong fields is
// answered with the command's sentences on those fields, a valid one closes
// the form and starts the run, whose message appears in the channel.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEPLOY_FORM, variableBlockId } from '../src/bot/render/modal.ts';
import { validateView } from '../src/bot/render/view-limits.ts';
import { type BotHarness, CHANNEL, messageText, startBotHarness } from './support/bot-harness.ts';
import type { FakeView } from './support/fake-slack.ts';
import {
  postInteraction,
  shortcutPayload,
  submitView,
  viewSelectPayload,
} from './support/slack-views.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    description: The public web tier
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$", description: "Image to roll out" }
      replicas: { type: number, default: 2, integer: true, min: 1, max: 10 }
      canary: { type: boolean, default: false }
      region: { type: select, options: [eu, us], default: eu }
      api_key: { type: string, sensitive: true, default: "topsecret-value" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: locked
    environment: staging
    approvers: [U0APPROVER]
    channels: [C0OTHER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: vault
    environment: prod
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      token: { type: string, sensitive: true, required: true }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo "plan"
echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
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
const blocksOf = (v: FakeView) => (v.view.blocks as Rec[]) ?? [];
const blockById = (v: FakeView, id: string) => blocksOf(v).find((x) => x.block_id === id);
const optionValues = (el: unknown) => ((el as Rec).options as Rec[]).map((o) => o.value);

/** Opens the form with `/deploy` and picks `deployment`; returns the modal. */
async function openAndPick(deployment: string, user = 'U0REQUESTER') {
  const before = b.slack.modals().length;
  const res = await b.command('', { user });
  expect(res.status).toBe(200);
  const modal = await b.slack.waitFor(() => b.slack.modals()[before]);
  const picked = await postInteraction(
    b.eventsUrl,
    viewSelectPayload({
      view: modal,
      userId: user,
      blockId: DEPLOY_FORM.deploymentBlock,
      actionId: DEPLOY_FORM.deploymentAction,
      value: deployment,
      triggerId: b.slack.triggerId({ view: modal.id }),
    }),
  );
  expect(picked.status).toBe(200);
  await b.slack.waitFor(() => modal.versions.length >= 2);
  return modal;
}

describe('the Deploy… form', () => {
  it('/deploy with no arguments opens the form within the trigger window, with the deployments of this channel', async () => {
    const res = await b.command('');
    expect(res.status).toBe(200);
    const modal = await b.slack.waitFor(() => b.slack.modals()[0]);
    const open = b.slack.callsTo('views.open')[0]!;
    expect(open.response.ok).toBe(true);
    expect(validateView(modal.view)).toEqual([]);
    expect(modal.view.callback_id).toBe('deploy_form');
    const picker = blockById(modal, DEPLOY_FORM.deploymentBlock)!;
    // locked is only for C0OTHER: not offered here. No channel picker: the command's channel is used.
    expect(optionValues(picker.element)).toEqual(['web', 'vault']);
    expect(blockById(modal, DEPLOY_FORM.channelBlock)).toBeUndefined();
    // No reply on the response_url: the form is the answer.
    expect(b.slack.responsesFor(res.responseUrl)).toEqual([]);
  });

  it('picking a deployment shows its variables as inputs by type, defaults filled, required ones required', async () => {
    const modal = await openAndPick('web');
    expect(validateView(modal.view)).toEqual([]);
    const input = (name: string) => blockById(modal, variableBlockId('web', name))!;
    expect(input('image_tag')).toMatchObject({
      optional: false,
      element: { type: 'plain_text_input' },
      hint: { text: 'Image to roll out · Pattern: ^[a-z0-9._-]+$' },
    });
    expect(input('replicas')).toMatchObject({
      optional: true,
      element: {
        type: 'number_input',
        is_decimal_allowed: false,
        min_value: '1',
        max_value: '10',
        initial_value: '2',
      },
    });
    expect(input('canary').element).toMatchObject({ type: 'checkboxes' });
    expect((input('canary').element as Rec).initial_options).toBeUndefined();
    expect(input('region').element).toMatchObject({
      type: 'static_select',
      initial_option: { value: 'eu' },
    });
    expect(optionValues(input('region').element)).toEqual(['eu', 'us']);
    // The sensitive variable is not asked for, and its default is never in the view.
    expect(input('api_key')).toBeUndefined();
    expect(JSON.stringify(modal.view)).toContain('api_key is sensitive and not asked here');
    expect(JSON.stringify(modal.versions)).not.toContain('topsecret-value');
  });

  it('a submission with two wrong fields keeps the form open with the command’s sentences on them; a valid one starts the run', async () => {
    const modal = await openAndPick('web');
    const tag = variableBlockId('web', 'image_tag');
    const replicas = variableBlockId('web', 'replicas');
    const wrong = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0REQUESTER',
      answers: { [tag]: 'Bad Tag!', [replicas]: '20' },
    });
    expect(wrong.status).toBe(200);
    expect(wrong.ms).toBeLessThan(3000);
    expect(wrong.body).toEqual({
      response_action: 'errors',
      errors: {
        [tag]: 'image_tag="Bad Tag!" does not match the pattern ^[a-z0-9._-]+$',
        [replicas]: 'replicas="20" is above the maximum 10',
      },
    });
    expect(modal.closed).toBe(false);
    // The command says the same.
    const command = await b.command('web image_tag="Bad Tag!" replicas=20');
    const [reply] = await b.replies(command.responseUrl);
    expect(reply).toContain('image_tag=\\"Bad Tag!\\" does not match the pattern ^[a-z0-9._-]+$');
    expect(reply).toContain('replicas=\\"20\\" is above the maximum 10');

    const runsBefore = (await b.h.core.listRuns({ deployment: 'web' })).length;
    const ok = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0REQUESTER',
      answers: {
        [tag]: '1.4.2',
        [replicas]: '3',
        [variableBlockId('web', 'canary')]: true,
        [variableBlockId('web', 'region')]: 'us',
      },
    });
    expect(ok).toMatchObject({ status: 200, body: null });
    expect(modal.closed).toBe(true);
    const runs = await waitForRuns('web', runsBefore + 1);
    const started = runs[0]!;
    // The sensitive one took its default, shown masked.
    expect(started.variables).toEqual({
      api_key: '••••••',
      image_tag: '1.4.2',
      replicas: 3,
      canary: true,
      region: 'us',
    });
    expect(started.requestedBy).toBe('U0REQUESTER');
    const message = await b.runMessage(started.id);
    expect(messageText(message)).toContain('1.4.2');
    // The requester is told, only them, in the channel.
    await b.slack.waitFor(() =>
      b.slack.ephemerals.find((e) => e.user === 'U0REQUESTER' && e.text.includes(started.id)),
    );
    // A second delivery of the same submission starts nothing more.
    await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0REQUESTER',
      answers: { [tag]: '1.4.2' },
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await b.h.core.listRuns({ deployment: 'web' })).toHaveLength(runsBefore + 1);
    // No value of the secret anywhere: views, messages, logs.
    expect(JSON.stringify(b.logs)).not.toContain('topsecret-value');
    expect(JSON.stringify([...b.slack.views.values()].map((v) => v.versions))).not.toContain(
      'topsecret-value',
    );
    expect(JSON.stringify(b.slack.channelMessages(CHANNEL))).not.toContain('topsecret-value');
  });

  it('a deployment whose sensitive variable has no default cannot be started from the form, and says how', async () => {
    const modal = await openAndPick('vault');
    expect(JSON.stringify(modal.view)).toContain('deploy-bot execute');
    const res = await submitView(b.slack, b.eventsUrl, { view: modal, userId: 'U0REQUESTER' });
    expect(res.body).toMatchObject({
      response_action: 'errors',
      errors: { [DEPLOY_FORM.deploymentBlock]: expect.stringContaining('token is sensitive') },
    });
  });

  it('the global shortcut asks for the channel too, and applies the channel rule to it', async () => {
    const before = b.slack.modals().length;
    const res = await postInteraction(
      b.eventsUrl,
      shortcutPayload({
        callbackId: 'deploy_start',
        userId: 'U0REQUESTER',
        triggerId: b.slack.triggerId(),
      }),
    );
    expect(res).toMatchObject({ status: 200, text: '' });
    const modal = await b.slack.waitFor(() => b.slack.modals()[before]);
    expect(validateView(modal.view)).toEqual([]);
    expect(blockById(modal, DEPLOY_FORM.channelBlock)?.element).toMatchObject({
      type: 'conversations_select',
    });
    expect(optionValues(blockById(modal, DEPLOY_FORM.deploymentBlock)!.element)).toEqual([
      'web',
      'locked',
      'vault',
    ]);
    await postInteraction(
      b.eventsUrl,
      viewSelectPayload({
        view: modal,
        userId: 'U0REQUESTER',
        blockId: DEPLOY_FORM.deploymentBlock,
        actionId: DEPLOY_FORM.deploymentAction,
        value: 'locked',
        triggerId: b.slack.triggerId({ view: modal.id }),
      }),
    );
    await b.slack.waitFor(() => modal.versions.length >= 2);
    const refused = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0REQUESTER',
      answers: { [DEPLOY_FORM.channelBlock]: CHANNEL },
    });
    expect(refused.body).toEqual({
      response_action: 'errors',
      errors: {
        [DEPLOY_FORM.channelBlock]: 'locked cannot be run from this channel: use <#C0OTHER>',
      },
    });
    const ok = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0REQUESTER',
      answers: { [DEPLOY_FORM.channelBlock]: 'C0OTHER' },
    });
    expect(ok.body).toBeNull();
    const [run] = await waitForRuns('locked', 1);
    await b.runMessage(run!.id, 'C0OTHER');
  });

  it('an expired trigger falls back to the help reply', async () => {
    const res = await b.command('', { triggerId: `${Date.now() - 5000}.1.faketrigger` });
    const [reply] = await b.replies(res.responseUrl);
    expect(reply).toContain('/deploy');
    expect(b.slack.callsTo('views.open').at(-1)?.response.error).toBe('expired_trigger_id');
  });
});

async function waitForRuns(deployment: string, count: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const runs = await b.h.core.listRuns({ deployment });
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) throw new Error(`no ${count} runs of ${deployment}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
