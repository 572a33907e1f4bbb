// The Web API client the bot uses, and what a failed call means for delivery:
// try again after Retry-After (429), try again with backoff (5xx, network,
// outage), or give up on this message (a permanent Slack error).

import type { types } from '@slack/bolt';
import { ErrorCode, type Logger, WebClient } from '@slack/web-api';
import { recordSlackCall } from '../../core/metrics/instruments.ts';
import type { Block as RenderedBlock } from '../render/blocks.ts';

export type SlackClientOptions = {
  readonly token: string;
  readonly slackApiUrl?: string | undefined;
  readonly logger: Logger;
  /** Per request (default 10s). */
  readonly timeoutMs?: number;
};

/**
 * A client that fails fast: no retries of its own and 429s are thrown, because
 * the outbox does the retrying (with Retry-After) without blocking a worker.
 */
export function createSlackClient(options: SlackClientOptions): WebClient {
  const client = new WebClient(options.token, {
    ...(options.slackApiUrl !== undefined ? { slackApiUrl: options.slackApiUrl } : {}),
    logger: options.logger,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.timeoutMs ?? 10_000,
  });
  // Every method goes through apiCall: count each call by method and result.
  const apiCall = client.apiCall.bind(client);
  client.apiCall = async (method, callOptions) => {
    try {
      const result = await apiCall(method, callOptions);
      recordSlackCall(method, 'ok');
      return result;
    } catch (error) {
      recordSlackCall(method, slackCallResult(error));
      throw error;
    }
  };
  return client;
}

/** A bounded label for a failed call: Slack's error code, or the kind of transport failure. */
function slackCallResult(error: unknown): string {
  const failure = classifySlackError(error);
  if ('error' in failure && /^[a-z_]{1,60}$/.test(failure.error)) return failure.error;
  if (failure.kind === 'rate_limited') return 'ratelimited';
  return failure.kind;
}

export type SlackFailure =
  /** 429: try again after this many seconds. */
  | { readonly kind: 'rate_limited'; readonly retryAfterSeconds: number; readonly detail: string }
  /** 5xx, network, timeout: Slack may be down; back off and try again. */
  | { readonly kind: 'unavailable'; readonly detail: string }
  /** Slack refused the blocks: send a smaller, plainer message instead. */
  | { readonly kind: 'invalid_message'; readonly error: string; readonly detail: string }
  /** The message is gone (deleted): post it again. */
  | { readonly kind: 'message_gone'; readonly error: string; readonly detail: string }
  /** The bot cannot post there (not in channel, archived, no such channel). */
  | { readonly kind: 'channel'; readonly error: string; readonly detail: string }
  /** The token or the app's scopes are wrong: retried slowly until someone fixes it. */
  | { readonly kind: 'auth'; readonly error: string; readonly detail: string }
  /** Anything else Slack answered with ok:false. */
  | { readonly kind: 'other'; readonly error: string; readonly detail: string };

const INVALID_MESSAGE = new Set([
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_blocks_too_long',
  'msg_too_long',
  'too_many_attachments',
  'no_text',
]);
const GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']);
const CHANNEL = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
]);
const AUTH = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'no_permission',
  'not_allowed_token_type',
  'ekm_access_denied',
]);
const UNAVAILABLE = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
]);

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
}

/** What a failed Web API call means; non-Slack errors count as unavailable. */
export function classifySlackError(error: unknown): SlackFailure {
  const e = record(error);
  const detail = error instanceof Error ? error.message : String(error);
  const code = e?.code;
  if (code === ErrorCode.RateLimitedError) {
    const retryAfter = Number(e?.retryAfter);
    return {
      kind: 'rate_limited',
      retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1,
      detail,
    };
  }
  if (code === ErrorCode.PlatformError) {
    const data = record(e?.data);
    const slackError = typeof data?.error === 'string' ? data.error : 'unknown_error';
    const messages = record(data?.response_metadata)?.messages;
    const full = Array.isArray(messages) ? `${slackError}: ${messages.join('; ')}` : slackError;
    if (INVALID_MESSAGE.has(slackError))
      return { kind: 'invalid_message', error: slackError, detail: full };
    if (GONE.has(slackError)) return { kind: 'message_gone', error: slackError, detail: full };
    if (CHANNEL.has(slackError)) return { kind: 'channel', error: slackError, detail: full };
    if (AUTH.has(slackError)) return { kind: 'auth', error: slackError, detail: full };
    if (UNAVAILABLE.has(slackError)) return { kind: 'unavailable', detail: full };
    return { kind: 'other', error: slackError, detail: full };
  }
  if (code === ErrorCode.HTTPError) {
    const status = Number(e?.statusCode);
    if (status === 429) {
      const header = record(e?.headers)?.['retry-after'];
      const seconds = Number(header);
      return {
        kind: 'rate_limited',
        retryAfterSeconds: Number.isFinite(seconds) && seconds > 0 ? seconds : 1,
        detail,
      };
    }
    return { kind: 'unavailable', detail: `HTTP ${status}` };
  }
  return { kind: 'unavailable', detail };
}

export function slackErrorText(failure: SlackFailure): string {
  switch (failure.kind) {
    case 'rate_limited':
      return `rate limited by Slack (retry after ${failure.retryAfterSeconds}s)`;
    case 'unavailable':
      return `Slack is unavailable: ${failure.detail}`;
    default:
      return failure.detail;
  }
}

export type SlackBlocks = (types.KnownBlock | types.Block)[];

/** The renderer's blocks as the Web API client's type (the same JSON shapes). */
export function toSlackBlocks(blocks: readonly RenderedBlock[]): SlackBlocks {
  return blocks as unknown as SlackBlocks;
}
