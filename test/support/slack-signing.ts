// Requests as Slack sends them to the bot: signed (v0 HMAC-SHA256 of
// "v0:{timestamp}:{raw body}"), as a slash command form body or as a
// block_actions payload built from a posted message's buttons.

import { createHmac } from 'node:crypto';

export const TEST_SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';

export type SlackSignatureHeaders = {
  readonly 'x-slack-signature': string;
  readonly 'x-slack-request-timestamp': string;
};

/** Slack's signature headers for `body` (timestamp in seconds, default now). */
export function signSlackRequest(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): SlackSignatureHeaders {
  const digest = createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-signature': `v0=${digest}`, 'x-slack-request-timestamp': String(timestamp) };
}

/** Headers for a signed form POST (what Slack sends for commands and interactions). */
export function signedFormHeaders(
  secret: string,
  body: string,
  timestamp?: number,
): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    ...signSlackRequest(secret, body, timestamp),
  };
}

export type SlashCommandInput = {
  readonly text: string;
  readonly userId: string;
  readonly channelId: string;
  readonly responseUrl: string;
  readonly command?: string;
  readonly userName?: string;
  readonly channelName?: string;
  readonly teamId?: string;
  readonly triggerId?: string;
};

/** The form body of a slash command, fields in Slack's order. */
export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams({
    token: 'unused-verification-token',
    team_id: input.teamId ?? 'TFAKETEAM1',
    team_domain: 'fake-team',
    channel_id: input.channelId,
    channel_name: input.channelName ?? input.channelId.toLowerCase(),
    user_id: input.userId,
    user_name: input.userName ?? input.userId.toLowerCase(),
    command: input.command ?? '/deploy',
    text: input.text,
    api_app_id: 'AFAKEAPP01',
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? triggerId(),
  }).toString();
}

type UnknownRecord = Record<string, unknown>;

function isRecord(value: unknown): value is UnknownRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type FoundButton = {
  readonly blockId: string;
  readonly actionId: string;
  readonly value: string | undefined;
  readonly text: string;
  readonly style: string | undefined;
};

/** Every button in a message's blocks (actions elements and section accessories). */
export function findButtons(blocks: readonly unknown[] | null | undefined): FoundButton[] {
  const found: FoundButton[] = [];
  for (const block of blocks ?? []) {
    if (!isRecord(block)) continue;
    const blockId = typeof block.block_id === 'string' ? block.block_id : '';
    const elements = Array.isArray(block.elements) ? block.elements : [];
    const candidates: unknown[] = block.type === 'actions' ? elements : [block.accessory];
    for (const element of candidates) {
      if (!isRecord(element) || element.type !== 'button') continue;
      const text =
        isRecord(element.text) && typeof element.text.text === 'string' ? element.text.text : '';
      found.push({
        blockId,
        actionId: typeof element.action_id === 'string' ? element.action_id : '',
        value: typeof element.value === 'string' ? element.value : undefined,
        text,
        style: typeof element.style === 'string' ? element.style : undefined,
      });
    }
  }
  return found;
}

let triggerCounter = 0;
function triggerId(): string {
  triggerCounter += 1;
  return `${Date.now()}.${triggerCounter}.faketrigger`;
}

export type BlockActionsInput = {
  /** The message as posted (e.g. a FakeMessage: its ts, blocks and text). */
  readonly message: {
    readonly ts: string;
    readonly blocks: readonly unknown[] | null;
    readonly text?: string;
    readonly threadTs?: string | null;
  };
  readonly channelId: string;
  readonly userId: string;
  /** The clicked button; it must be in the message's blocks. */
  readonly actionId: string;
  /** Which block, when several have a button with this action id. */
  readonly blockId?: string;
  /** Overrides the button's value (a forged or stale click). */
  readonly value?: string;
  readonly responseUrl: string;
  readonly userName?: string;
  readonly triggerId?: string;
};

/** The block_actions payload Slack sends when a person clicks a button of the message. */
export function blockActionsPayload(input: BlockActionsInput): UnknownRecord {
  const button = findButtons(input.message.blocks).find(
    (b) =>
      b.actionId === input.actionId && (input.blockId === undefined || b.blockId === input.blockId),
  );
  if (button === undefined) {
    throw new Error(
      `no button with action_id ${input.actionId}${input.blockId ? ` in block ${input.blockId}` : ''} in the message`,
    );
  }
  const actionTs = `${Math.floor(Date.now() / 1000)}.${String(Date.now() % 1000).padStart(3, '0')}000`;
  return {
    type: 'block_actions',
    user: {
      id: input.userId,
      username: input.userName ?? input.userId.toLowerCase(),
      name: input.userName ?? input.userId.toLowerCase(),
      team_id: 'TFAKETEAM1',
    },
    api_app_id: 'AFAKEAPP01',
    token: 'unused-verification-token',
    container: {
      type: 'message',
      message_ts: input.message.ts,
      channel_id: input.channelId,
      is_ephemeral: false,
    },
    trigger_id: input.triggerId ?? triggerId(),
    team: { id: 'TFAKETEAM1', domain: 'fake-team' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelId.toLowerCase() },
    message: {
      type: 'message',
      ts: input.message.ts,
      text: input.message.text ?? '',
      blocks: input.message.blocks ?? [],
      ...(input.message.threadTs ? { thread_ts: input.message.threadTs } : {}),
    },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        action_id: button.actionId,
        block_id: button.blockId,
        text: { type: 'plain_text', text: button.text, emoji: true },
        ...(input.value !== undefined || button.value !== undefined
          ? { value: input.value ?? button.value }
          : {}),
        ...(button.style !== undefined ? { style: button.style } : {}),
        type: 'button',
        action_ts: actionTs,
      },
    ],
  };
}

/** The form body (`payload=…`) of a button click. */
export function blockActionsBody(input: BlockActionsInput): string {
  return new URLSearchParams({ payload: JSON.stringify(blockActionsPayload(input)) }).toString();
}
