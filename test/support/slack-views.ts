// Interactions with views as Slack sends them: a global shortcut, a change in a
// modal (block_actions with the view), and a view_submission whose state holds
// what the person typed, starting from the view's initial values as Slack does.

import { FAKE_TEAM_ID, type FakeSlack, type FakeView } from './fake-slack.ts';
import { signedFormHeaders, signSlackRequest, TEST_SIGNING_SECRET } from './slack-signing.ts';

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a person enters in an input: text / number as a string, a checkbox as a boolean, a select's value. */
export type Answer = string | boolean | null;

/** The view as Slack sends it back in a payload: id, hash and state. */
function viewPayload(v: FakeView, values: Record<string, Record<string, Rec>>): Rec {
  return {
    ...v.view,
    id: v.id,
    hash: v.hash,
    team_id: FAKE_TEAM_ID,
    root_view_id: v.rootId,
    app_id: 'AFAKEAPP01',
    state: { values },
  };
}

/** The state of every input of `v`: the initial values, overridden by `answers` (by block id). */
export function formState(
  v: FakeView,
  answers: Readonly<Record<string, Answer>> = {},
): Record<string, Record<string, Rec>> {
  const values: Record<string, Record<string, Rec>> = {};
  const blocks = Array.isArray(v.view.blocks) ? v.view.blocks : [];
  for (const block of blocks) {
    if (!isRecord(block) || block.type !== 'input' || !isRecord(block.element)) continue;
    const el = block.element;
    const blockId = String(block.block_id);
    const actionId = String(el.action_id);
    const given = Object.hasOwn(answers, blockId) ? answers[blockId] : undefined;
    const type = String(el.type);
    let state: Rec;
    switch (type) {
      case 'checkboxes': {
        const options = (el.options as Rec[]) ?? [];
        const chosen =
          given === undefined
            ? ((el.initial_options as Rec[] | undefined) ?? [])
            : given === true
              ? options.slice(0, 1)
              : [];
        state = { type, selected_options: chosen };
        break;
      }
      case 'static_select': {
        const options = (el.options as Rec[]) ?? [];
        const chosen =
          given === undefined
            ? ((el.initial_option as Rec | undefined) ?? null)
            : (options.find((o) => o.value === given) ?? null);
        state = { type, selected_option: chosen };
        break;
      }
      case 'conversations_select':
        state = {
          type,
          selected_conversation: given === undefined ? (el.initial_conversation ?? null) : given,
        };
        break;
      default:
        state = {
          type,
          value: given === undefined ? (el.initial_value ?? null) : given === '' ? null : given,
        };
    }
    values[blockId] = { [actionId]: state };
  }
  return values;
}

const user = (id: string) => ({
  id,
  username: id.toLowerCase(),
  name: id.toLowerCase(),
  team_id: FAKE_TEAM_ID,
});

export function shortcutPayload(input: {
  callbackId: string;
  userId: string;
  triggerId: string;
}): Rec {
  return {
    type: 'shortcut',
    token: 'unused-verification-token',
    action_ts: `${Date.now() / 1000}`,
    team: { id: FAKE_TEAM_ID, domain: 'fake-team' },
    user: user(input.userId),
    is_enterprise_install: false,
    enterprise: null,
    callback_id: input.callbackId,
    trigger_id: input.triggerId,
  };
}

/** A static select changed in a modal (its block has dispatch_action). */
export function viewSelectPayload(input: {
  view: FakeView;
  userId: string;
  blockId: string;
  actionId: string;
  value: string;
  triggerId: string;
}): Rec {
  const values = formState(input.view, { [input.blockId]: input.value });
  const selected = values[input.blockId]?.[input.actionId]?.selected_option ?? null;
  return {
    type: 'block_actions',
    user: user(input.userId),
    api_app_id: 'AFAKEAPP01',
    token: 'unused-verification-token',
    container: { type: 'view', view_id: input.view.id },
    trigger_id: input.triggerId,
    team: { id: FAKE_TEAM_ID, domain: 'fake-team' },
    is_enterprise_install: false,
    view: viewPayload(input.view, values),
    actions: [
      {
        type: 'static_select',
        action_id: input.actionId,
        block_id: input.blockId,
        selected_option: selected,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

export function viewSubmissionPayload(input: {
  view: FakeView;
  userId: string;
  answers?: Readonly<Record<string, Answer>>;
  triggerId: string;
}): Rec {
  return {
    type: 'view_submission',
    team: { id: FAKE_TEAM_ID, domain: 'fake-team' },
    user: user(input.userId),
    api_app_id: 'AFAKEAPP01',
    token: 'unused-verification-token',
    trigger_id: input.triggerId,
    view: viewPayload(input.view, formState(input.view, input.answers)),
    response_urls: [],
    is_enterprise_install: false,
  };
}

/** POSTs a signed interactivity payload; resolves with the HTTP answer. */
export async function postInteraction(
  eventsUrl: string,
  payload: Rec,
): Promise<{ status: number; text: string; ms: number }> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const started = performance.now();
  const res = await fetch(eventsUrl, {
    method: 'POST',
    headers: signedFormHeaders(TEST_SIGNING_SECRET, body),
    body,
  });
  return { status: res.status, text: await res.text(), ms: performance.now() - started };
}

/**
 * Submits a modal like Slack: the answer's `response_action` decides what
 * happens to it (nothing/clear: closed; update: replaced; errors: stays).
 */
export async function submitView(
  slack: FakeSlack,
  eventsUrl: string,
  input: { view: FakeView; userId: string; answers?: Readonly<Record<string, Answer>> },
): Promise<{ status: number; body: Rec | null; ms: number }> {
  const res = await postInteraction(
    eventsUrl,
    viewSubmissionPayload({
      ...input,
      triggerId: slack.triggerId({ view: input.view.id, user: input.userId }),
    }),
  );
  const body = res.text === '' ? null : (JSON.parse(res.text) as Rec);
  if (res.status === 200) {
    if (body === null || body.response_action === 'clear') input.view.closed = true;
    else if (body.response_action === 'update' && isRecord(body.view)) {
      input.view.view = body.view;
      input.view.versions.push({
        view: body.view,
        method: 'response_action:update',
        at: Date.now(),
      });
    }
  }
  return { status: res.status, body, ms: res.ms };
}

/** A click on a button of a published Home (block_actions with a view container, no response_url). */
export function homeClickPayload(input: {
  home: FakeView;
  userId: string;
  actionId: string;
  blockId?: string;
  value?: string;
  triggerId: string;
}): Rec {
  const blocks = Array.isArray(input.home.view.blocks) ? (input.home.view.blocks as unknown[]) : [];
  let found: { blockId: string; element: Rec } | null = null;
  for (const block of blocks) {
    if (!isRecord(block) || block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    if (input.blockId !== undefined && block.block_id !== input.blockId) continue;
    for (const el of block.elements) {
      if (isRecord(el) && el.action_id === input.actionId) {
        found = { blockId: String(block.block_id), element: el };
        break;
      }
    }
    if (found) break;
  }
  if (found === null) throw new Error(`no button ${input.actionId} on the Home`);
  return {
    type: 'block_actions',
    user: user(input.userId),
    api_app_id: 'AFAKEAPP01',
    token: 'unused-verification-token',
    container: { type: 'view', view_id: input.home.id },
    trigger_id: input.triggerId,
    team: { id: FAKE_TEAM_ID, domain: 'fake-team' },
    is_enterprise_install: false,
    view: viewPayload(input.home, {}),
    actions: [
      {
        type: 'button',
        action_id: input.actionId,
        block_id: found.blockId,
        value: input.value ?? found.element.value,
        text: found.element.text,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

/** An Events API request (event_callback) as Slack POSTs it: JSON, signed. */
export async function postEvent(
  eventsUrl: string,
  event: Rec,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const body = JSON.stringify({
    token: 'unused-verification-token',
    team_id: FAKE_TEAM_ID,
    api_app_id: 'AFAKEAPP01',
    event: { event_ts: `${Date.now() / 1000}`, ...event },
    type: 'event_callback',
    event_id: `Ev${Date.now()}${Math.floor(Math.random() * 1000)}`,
    event_time: Math.floor(Date.now() / 1000),
  });
  const res = await fetch(eventsUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...signSlackRequest(TEST_SIGNING_SECRET, body),
      ...headers,
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}
