// The App Home over the Events API: app_home_opened publishes the person's
// Home ("Waiting for you" with the run message's buttons, "Your recent runs",
// "Running now"); its buttons act under the same policy and refuse a stale
// plan; while runs change, the Homes of people who opened them are
// republished.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { encodeButtonValue, parseButtonValue } from '../src/bot/render/actions.ts';
import { validateView } from '../src/bot/render/view-limits.ts';
import { type BotHarness, CHANNEL, startBotHarness } from './support/bot-harness.ts';
import { signSlackRequest, TEST_SIGNING_SECRET } from './support/slack-signing.ts';
import { homeClickPayload, postEvent, postInteraction } from './support/slack-views.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER, S0OPS]
    source: { kind: directory, path: ./src }
    notify: none
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: FILES,
    slack: { userGroups: { S0OPS: ['U0GROUPIE'] }, homeRateLimit: { max: 50, perMs: 10_000 } },
  });
});
afterAll(async () => {
  await b?.close();
});

const homeText = (user: string) => JSON.stringify(b.slack.home(user)?.view ?? null);
const open = (user: string) =>
  postEvent(b.eventsUrl, { type: 'app_home_opened', user, channel: 'DHOME', tab: 'home' });

describe('the manifest', () => {
  it('declares the Home tab, the shortcut, app_home_opened on /slack/events, and im:write', () => {
    const manifest = parseYaml(
      readFileSync(path.join(import.meta.dirname, '..', 'manifest.yaml'), 'utf8'),
    ) as {
      features: { app_home: Record<string, boolean>; shortcuts: Record<string, string>[] };
      oauth_config: { scopes: { bot: string[] } };
      settings: { event_subscriptions: { request_url: string; bot_events: string[] } };
    };
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.features.shortcuts).toContainEqual(
      expect.objectContaining({ type: 'global', callback_id: 'deploy_start' }),
    );
    expect(manifest.settings.event_subscriptions.request_url).toMatch(/\/slack\/events$/);
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_home_opened');
    expect(manifest.oauth_config.scopes.bot).toContain('im:write');
  });
});

describe('App Home', () => {
  it('answers url_verification with the challenge', async () => {
    const body = JSON.stringify({ type: 'url_verification', challenge: 'chal-123', token: 'x' });
    const res = await fetch(b.eventsUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...signSlackRequest(TEST_SIGNING_SECRET, body),
      },
      body,
    });
    expect(await res.json()).toEqual({ challenge: 'chal-123' });
  });

  it('publishes the Home; its buttons act like the message’s, under the same policy, refusing a stale plan', async () => {
    const runId = await b.runIdOf(await b.command('web'));
    await b.h.waitFor(runId, 'awaiting_plan_approval');
    await b.runMessage(runId);

    expect((await open('U0APPROVER')).status).toBe(200);
    const home = await b.slack.waitFor(() => b.slack.home('U0APPROVER'));
    expect(validateView(home.view, 'home')).toEqual([]);
    expect(homeText('U0APPROVER')).toContain('Waiting for you');
    expect(homeText('U0APPROVER')).toContain(runId);
    expect(homeText('U0APPROVER')).toContain('approve_plan');
    // The requester may not approve their own run: nothing waits for them, their run is listed.
    await open('U0REQUESTER');
    await b.slack.waitFor(() => b.slack.home('U0REQUESTER'));
    expect(homeText('U0REQUESTER')).toContain('Nothing waits for you now');
    expect(homeText('U0REQUESTER')).toContain('Your recent runs');
    expect(homeText('U0REQUESTER')).toContain(runId);
    // Another tab (Messages) publishes nothing.
    await postEvent(b.eventsUrl, {
      type: 'app_home_opened',
      user: 'U0NOBODY',
      channel: 'D1',
      tab: 'messages',
    });

    // Someone who is not an approver clicks a button copied from the Home: refused.
    const click = (user: string, value?: string) =>
      postInteraction(
        b.eventsUrl,
        homeClickPayload({
          home,
          userId: user,
          actionId: 'approve_plan',
          triggerId: b.slack.triggerId(),
          ...(value !== undefined ? { value } : {}),
        }),
      );
    await click('U0STRANGER');
    await b.slack.waitFor(() =>
      b.slack.ephemerals.find(
        (e) => e.user === 'U0STRANGER' && JSON.stringify(e).includes('not an approver'),
      ),
    );
    // A stale plan (the button of an older plan): refused, nothing changes.
    const shown = homeClickPayload({
      home,
      userId: 'U0APPROVER',
      actionId: 'approve_plan',
      triggerId: 'x',
    });
    const value = parseButtonValue((shown.actions as { value: string }[])[0]!.value)!;
    await click('U0APPROVER', encodeButtonValue({ ...value, planId: 'plan-older' }));
    await b.slack.waitFor(() =>
      b.slack.ephemerals.find(
        (e) => e.user === 'U0APPROVER' && JSON.stringify(e).includes('has a new plan'),
      ),
    );
    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_plan_approval');
    // The group member approves from their Home: acts exactly like the channel's button.
    await open('U0GROUPIE');
    const groupieHome = await b.slack.waitFor(() => b.slack.home('U0GROUPIE'));
    await postInteraction(
      b.eventsUrl,
      homeClickPayload({
        home: groupieHome,
        userId: 'U0GROUPIE',
        actionId: 'approve_plan',
        triggerId: b.slack.triggerId(),
      }),
    );
    const moved = await b.h.waitFor(runId, 'awaiting_apply_approval');
    expect(moved.approvals.map((a) => a.by)).toEqual(['U0GROUPIE']);
    // Everyone who opened their Home sees the change: republished through the outbox.
    await b.slack.waitFor(() => homeText('U0APPROVER').includes('confirm_apply'), 8000);
    await b.slack.waitFor(() => homeText('U0REQUESTER').includes('Awaiting apply approval'), 8000);
    // And the channel message shows it too.
    await b.messageWhere(runId, (m) => JSON.stringify(m.blocks).includes('confirm_apply'));
    expect(CHANNEL).toBe('C0DEPLOYS');
  });
});
