// A small Slack Web API of our own on loopback, for tests. It answers the
// methods the bot uses the way Slack does (HTTP 200 with {ok:true,…} or
// {ok:false,error}), keeps the messages it was sent (with every version a
// chat.update made), checks message blocks against Block Kit's limits with the
// renderer's own validator, and can be told to fail: HTTP 500, rate limits
// (429 + Retry-After), Slack errors, or being down for a while.
//
//   const slack = await startFakeSlack();
//   const client = new WebClient(FAKE_SLACK_TOKEN, { slackApiUrl: slack.url, retryConfig: { retries: 0 } });

import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { blocksTextLength, LIMITS, validateBlocks } from '../../src/bot/render/limits.ts';
import { VIEW_LIMITS, validateView } from '../../src/bot/render/view-limits.ts';

export const FAKE_SLACK_TOKEN = 'xoxb-fake-slack-token';
export const FAKE_BOT_USER_ID = 'UFAKEBOT01';
export const FAKE_BOT_ID = 'BFAKEBOT01';
export const FAKE_TEAM_ID = 'TFAKETEAM1';
/** An app-level token apps.connections.open accepts (Socket Mode). */
export const FAKE_APP_TOKEN = 'xapp-1-fake-app-token';

export type FakeSlackFault =
  /** Answer with this HTTP status (e.g. 500, 502). */
  | { readonly status: number; readonly error?: string }
  /** `ratelimited`: HTTP 429 with Retry-After (default 1s); any other: HTTP 200 {ok:false,error}. */
  | { readonly error: string; readonly retryAfter?: number };

export type FakeUser = {
  readonly id: string;
  readonly name: string;
  readonly real_name: string;
  readonly tz: string;
  readonly is_bot: boolean;
  readonly deleted: boolean;
};

export type FakeChannel = {
  readonly id: string;
  readonly name: string;
  readonly is_private: boolean;
  /** False: posting answers not_in_channel. */
  readonly is_member: boolean;
};

export type FakeSlackOptions = {
  /** Accepted bot tokens (default FAKE_SLACK_TOKEN). */
  readonly tokens?: readonly string[];
  /** User group id → member user ids, for usergroups.users.list. */
  readonly userGroups?: Readonly<Record<string, readonly string[]>>;
  /** Users for users.info; other well-formed ids (U…/W…) get a made-up profile. */
  readonly users?: Readonly<Record<string, Partial<Omit<FakeUser, 'id'>>>>;
  /** When given, only these channels exist (others: channel_not_found). */
  readonly channels?: Readonly<Record<string, Partial<Omit<FakeChannel, 'id'>>>>;
  /** How many posts a response_url takes (Slack: 5). */
  readonly responseUrlMaxUses?: number;
  /** Accepted app-level tokens for Socket Mode (default FAKE_APP_TOKEN). */
  readonly appTokens?: readonly string[];
  /** views.publish: more than `max` publishes for one user within `perMs` get 429 (default 5 per 10 s). */
  readonly homeRateLimit?: { readonly max: number; readonly perMs: number };
};

/** What the app answered to an envelope sent over Socket Mode. */
export type FakeSocketAck = {
  readonly envelopeId: string;
  readonly payload: unknown;
  /** Milliseconds from sending the envelope to the ack. */
  readonly ms: number;
};

/** Slack's Socket Mode side: a WebSocket server apps.connections.open points to. */
export type FakeSocketMode = {
  /** Open connections (the hello was sent). */
  connections(): number;
  waitForConnection(timeoutMs?: number): Promise<void>;
  /** Sends an envelope (slash_commands, interactive, …) and resolves with the app's ack. */
  send(
    type: string,
    payload: Record<string, unknown>,
    options?: { retryAttempt?: number; timeoutMs?: number },
  ): Promise<FakeSocketAck>;
  /** Closes every connection (as Slack does when it recycles a server). */
  dropAll(): void;
};

export type FakeCall = {
  readonly method: string;
  /** The arguments, parsed (form or JSON); JSON fields (blocks, files, …) decoded; token removed. */
  readonly args: Readonly<Record<string, unknown>>;
  /** From `Authorization: Bearer …`, or the `token` argument. */
  readonly token: string | null;
  readonly contentType: string;
  readonly status: number;
  readonly response: Readonly<Record<string, unknown>>;
  readonly at: number;
};

export type FakeMessageVersion = {
  readonly text: string;
  readonly blocks: readonly unknown[] | null;
  readonly method: 'chat.postMessage' | 'chat.update' | 'seed';
  readonly at: number;
};

export type FakeMessage = {
  readonly channel: string;
  readonly ts: string;
  readonly threadTs: string | null;
  /** The author: the bot's user id for messages the bot posted. */
  readonly user: string;
  readonly botId: string | null;
  /** The current version. */
  text: string;
  blocks: readonly unknown[] | null;
  deleted: boolean;
  /** Every version, oldest first (the current one last). */
  readonly versions: FakeMessageVersion[];
};

export type FakeEphemeral = {
  readonly channel: string;
  readonly user: string;
  readonly text: string;
  readonly blocks: readonly unknown[] | null;
  readonly threadTs: string | null;
  readonly messageTs: string;
};

export type FakeFile = {
  readonly id: string;
  readonly filename: string;
  readonly length: number;
  title: string;
  content: Buffer | null;
  completed: boolean;
  channel: string | null;
  threadTs: string | null;
  initialComment: string | null;
};

/** A view the bot opened, pushed or published, with every version. */
export type FakeView = {
  readonly id: string;
  readonly type: 'modal' | 'home';
  /** The user a Home belongs to; for modals, who the trigger came from (null when unknown). */
  readonly user: string | null;
  /** The modal's stack (root view id first); a Home's is its own id. */
  readonly rootId: string;
  hash: string;
  externalId: string | null;
  /** The current version, as sent (without id and hash). */
  view: Readonly<Record<string, unknown>>;
  closed: boolean;
  readonly versions: {
    readonly view: Readonly<Record<string, unknown>>;
    readonly method: string;
    readonly at: number;
  }[];
};

export type FakeResponse = {
  readonly url: string;
  readonly body: unknown;
  readonly status: number;
  readonly at: number;
};

export type FakeSlack = {
  /** Base URL for WebClient's `slackApiUrl`: `http://127.0.0.1:PORT/api/`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  readonly calls: FakeCall[];
  /** channel → ts → message. */
  readonly messages: Map<string, Map<string, FakeMessage>>;
  readonly ephemerals: FakeEphemeral[];
  readonly files: Map<string, FakeFile>;
  readonly responses: FakeResponse[];
  readonly userGroups: Map<string, string[]>;
  callsTo(method: string): FakeCall[];
  message(channel: string, ts: string): FakeMessage | undefined;
  /** Messages of a channel (thread replies included), oldest first. */
  channelMessages(channel: string): FakeMessage[];
  /** Replies in the thread of `ts`, oldest first. */
  thread(channel: string, ts: string): FakeMessage[];
  /** A message written by a person (the bot may not update it). */
  seedMessage(
    channel: string,
    message: { text: string; user: string; threadTs?: string },
  ): FakeMessage;
  /** Fail the next `times` calls (default 1; Infinity for all) of `method` ('*': every request). */
  fail(method: string, fault: FakeSlackFault, times?: number): void;
  clearFaults(): void;
  /** Answer 503 to everything for `ms` (until up() when omitted). */
  down(ms?: number): void;
  up(): void;
  /** A fresh response_url on this server; JSON posted to it lands in `responses`. */
  responseUrl(): string;
  readonly socketMode: FakeSocketMode;
  responsesFor(url: string): FakeResponse[];
  /** Views by id (modals and Homes). */
  readonly views: Map<string, FakeView>;
  /** The Home tab published for a user (the current one). */
  home(user: string): FakeView | undefined;
  /** Modals in the order they were opened or pushed. */
  modals(): FakeView[];
  /** A trigger id as Slack sends with an interaction (valid once, for 3 s); `view`: from inside that modal. */
  triggerId(options?: { view?: string; user?: string }): string;
  /** The DM channel conversations.open gives for a user. */
  dmChannel(user: string): string;
  /** Resolves with the first truthy value of `check`, polling; rejects after `timeoutMs`. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Forgets calls, messages, files, responses and faults. */
  reset(): void;
  close(): Promise<void>;
};

// ---------------------------------------------------------------------------

type Args = Record<string, unknown>;
type Reply = {
  readonly status?: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
};
type Fault = { readonly method: string; readonly fault: FakeSlackFault; remaining: number };

const JSON_FIELDS = ['blocks', 'attachments', 'files', 'metadata', 'file_uploads', 'view'];

function ok(body: Record<string, unknown> = {}): Reply {
  return { body: { ok: true, ...body } };
}

function err(error: string, extra: Record<string, unknown> = {}): Reply {
  return { body: { ok: false, error, ...extra } };
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

type Parsed = { args: Args; files: { field: string; name: string; content: Buffer }[] };

async function parseBody(contentType: string, raw: Buffer): Promise<Parsed | null> {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (raw.length === 0) return { args: {}, files: [] };
  if (type === 'application/json') {
    try {
      const value: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
      return { args: { ...(value as Args) }, files: [] };
    } catch {
      return null;
    }
  }
  if (type === 'multipart/form-data') {
    const form = await new Request('http://fake/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: new Uint8Array(raw),
    }).formData();
    const args: Args = {};
    const files: Parsed['files'] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') args[field] = value;
      else files.push({ field, name: value.name, content: Buffer.from(await value.arrayBuffer()) });
    }
    return { args, files };
  }
  // application/x-www-form-urlencoded (WebClient's default) and anything else form-like.
  return { args: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), files: [] };
}

function decodeJsonFields(args: Args): Args {
  const out: Args = { ...args };
  for (const field of JSON_FIELDS) {
    const value = out[field];
    if (typeof value !== 'string') continue;
    try {
      out[field] = JSON.parse(value);
    } catch {
      // left as the string: the method answers invalid_blocks_format / invalid_arguments
    }
  }
  return out;
}

function send(res: ServerResponse, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status ?? 200, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}

function faultReply(fault: FakeSlackFault): Reply {
  if ('status' in fault) {
    return { status: fault.status, body: { ok: false, error: fault.error ?? 'internal_error' } };
  }
  if (fault.error === 'ratelimited') {
    const retryAfter = fault.retryAfter ?? 1;
    return {
      status: 429,
      headers: { 'retry-after': String(retryAfter) },
      body: { ok: false, error: 'ratelimited' },
    };
  }
  return err(fault.error);
}

/** Checks a message's text and blocks the way chat.postMessage does; null when fine. */
function messageProblem(args: Args, needContent: boolean): Reply | null {
  const blocks = args.blocks;
  if (blocks !== undefined) {
    if (!Array.isArray(blocks)) return err('invalid_blocks_format');
    const violations = validateBlocks(blocks);
    if (violations.length > 0) {
      const tooLong = blocksTextLength(blocks) > LIMITS.totalText;
      return err(tooLong && violations.length === 1 ? 'msg_blocks_too_long' : 'invalid_blocks', {
        response_metadata: { messages: violations.map((v) => `[ERROR] ${v}`) },
      });
    }
  }
  const text = str(args.text);
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  const hasAttachments = Array.isArray(args.attachments) && args.attachments.length > 0;
  if (needContent && (text === undefined || text === '') && !hasBlocks && !hasAttachments) {
    return err('no_text');
  }
  return null;
}

// ---------------------------------------------------------------------------
// A minimal WebSocket server (RFC 6455): text frames, ping/pong, close.

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function wsFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const head =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
  return Buffer.concat([head, payload]);
}

function bigLength(length: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(length));
  return b;
}

type WsConnection = {
  readonly socket: Socket;
  sendText(text: string): void;
  close(): void;
  open: boolean;
};

function acceptWebSocket(
  req: IncomingMessage,
  socket: Socket,
  onText: (conn: WsConnection, text: string) => void,
  onClose: (conn: WsConnection) => void,
): WsConnection | null {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    return null;
  }
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.setNoDelay(true);
  const conn: WsConnection = {
    socket,
    open: true,
    sendText: (text) => {
      if (conn.open) socket.write(wsFrame(0x1, Buffer.from(text, 'utf8')));
    },
    close: () => {
      if (!conn.open) return;
      conn.open = false;
      socket.write(wsFrame(0x8, Buffer.from([0x03, 0xe8])));
      socket.end();
      onClose(conn);
    },
  };
  let buffer = Buffer.alloc(0);
  let message: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (buffer.length < 2) return;
      const fin = (buffer[0]! & 0x80) !== 0;
      const opcode = buffer[0]! & 0x0f;
      const masked = (buffer[1]! & 0x80) !== 0;
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const maskLength = masked ? 4 : 0;
      if (buffer.length < offset + maskLength + length) return;
      const mask = masked ? buffer.subarray(offset, offset + 4) : null;
      const payload = Buffer.from(
        buffer.subarray(offset + maskLength, offset + maskLength + length),
      );
      if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buffer = buffer.subarray(offset + maskLength + length);
      if (opcode === 0x9) socket.write(wsFrame(0xa, payload));
      else if (opcode === 0x8) conn.close();
      else if (opcode === 0x1 || opcode === 0x0) {
        message.push(payload);
        if (fin) {
          onText(conn, Buffer.concat(message).toString('utf8'));
          message = [];
        }
      }
    }
  });
  const closed = () => {
    if (conn.open) {
      conn.open = false;
      onClose(conn);
    }
  };
  socket.on('close', closed);
  socket.on('error', closed);
  return conn;
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const tokens = new Set(options.tokens ?? [FAKE_SLACK_TOKEN]);
  const appTokens = new Set(options.appTokens ?? [FAKE_APP_TOKEN]);
  const sockets = new Set<WsConnection>();
  const pendingAcks = new Map<string, (ack: { payload: unknown }) => void>();
  let envelopeCounter = 0;
  let triggerCounter = 0;
  const configuredUsers = options.users ?? {};
  const configuredChannels = options.channels;
  const maxResponseUses = options.responseUrlMaxUses ?? 5;

  const calls: FakeCall[] = [];
  const messages = new Map<string, Map<string, FakeMessage>>();
  const ephemerals: FakeEphemeral[] = [];
  const files = new Map<string, FakeFile>();
  const responses: FakeResponse[] = [];
  const responseUrls = new Map<string, number>();
  const userGroups = new Map<string, string[]>(
    Object.entries(options.userGroups ?? {}).map(([group, users]) => [group, [...users]]),
  );
  let faults: Fault[] = [];
  let downUntil = 0;
  let tsCounter = 0;
  let idCounter = 0;
  let origin = '';

  const views = new Map<string, FakeView>();
  const homes = new Map<string, string>();
  /** Publish times per user, for the Home rate limit. */
  const publishes = new Map<string, number[]>();
  const usedTriggers = new Set<string>();
  const triggerViews = new Map<string, { view?: string; user?: string }>();
  const dms = new Map<string, string>();
  const homeRate = options.homeRateLimit ?? { max: 5, perMs: 10_000 };

  const nextTs = (): string => {
    tsCounter += 1;
    const micro = tsCounter * 100;
    return `${1_700_000_000 + Math.floor(micro / 1_000_000)}.${String(micro % 1_000_000).padStart(6, '0')}`;
  };
  const nextId = (prefix: string): string => {
    idCounter += 1;
    return `${prefix}FAKE${String(idCounter).padStart(6, '0')}`;
  };

  const takeFault = (label: string): FakeSlackFault | null => {
    const fault = faults.find((f) => (f.method === label || f.method === '*') && f.remaining > 0);
    if (fault === undefined) return null;
    fault.remaining -= 1;
    faults = faults.filter((f) => f.remaining > 0);
    return fault.fault;
  };

  const channelInfo = (id: string): FakeChannel | null => {
    if (configuredChannels !== undefined) {
      const c = configuredChannels[id];
      if (c === undefined) return null;
      return {
        id,
        name: c.name ?? id.toLowerCase(),
        is_private: c.is_private ?? false,
        is_member: c.is_member ?? true,
      };
    }
    if (!/^[CGD][A-Z0-9]+$/.test(id)) return null;
    return { id, name: id.toLowerCase(), is_private: id.startsWith('G'), is_member: true };
  };

  const userInfo = (id: string): FakeUser | null => {
    const u = configuredUsers[id];
    if (u === undefined && !/^[UW][A-Z0-9]+$/.test(id)) return null;
    return {
      id,
      name: u?.name ?? id.toLowerCase(),
      real_name: u?.real_name ?? `User ${id}`,
      tz: u?.tz ?? 'UTC',
      is_bot: u?.is_bot ?? id === FAKE_BOT_USER_ID,
      deleted: u?.deleted ?? false,
    };
  };

  const channelProblem = (channel: string | undefined): Reply | null => {
    if (channel === undefined || channel === '') return err('channel_not_found');
    const info = channelInfo(channel);
    if (info === null) return err('channel_not_found');
    if (!info.is_member) return err('not_in_channel');
    return null;
  };

  const store = (message: FakeMessage): void => {
    let byTs = messages.get(message.channel);
    if (byTs === undefined) {
      byTs = new Map();
      messages.set(message.channel, byTs);
    }
    byTs.set(message.ts, message);
  };

  const messageJson = (m: FakeMessage): Record<string, unknown> => ({
    type: 'message',
    user: m.user,
    ...(m.botId !== null ? { bot_id: m.botId } : {}),
    text: m.text,
    ...(m.blocks !== null ? { blocks: m.blocks } : {}),
    ts: m.ts,
    ...(m.threadTs !== null ? { thread_ts: m.threadTs } : {}),
  });

  const blocksOf = (args: Args): readonly unknown[] | null =>
    Array.isArray(args.blocks) ? (args.blocks as unknown[]) : null;

  /** Trigger ids look like `<ms since epoch>.<n>.faketrigger` (slack-signing.ts makes them). */
  const takeTrigger = (value: unknown): { view?: string; user?: string } | { error: string } => {
    const trigger = str(value);
    if (trigger === undefined || trigger === '') return { error: 'invalid_trigger_id' };
    const match = /^(\d{13})\.\d+\.faketrigger$/.exec(trigger);
    if (match === null) return { error: 'invalid_trigger_id' };
    if (usedTriggers.has(trigger) || Date.now() - Number(match[1]) > 3000)
      return { error: 'expired_trigger_id' };
    usedTriggers.add(trigger);
    return triggerViews.get(trigger) ?? {};
  };

  const viewProblem = (view: unknown, type: 'modal' | 'home'): Reply | null => {
    if (view === undefined || typeof view === 'string') return err('invalid_arguments');
    const violations = validateView(view, type);
    if (violations.length === 0) return null;
    return err('invalid_arguments', {
      response_metadata: { messages: violations.map((v) => `[ERROR] ${v}`) },
    });
  };

  const setView = (v: FakeView, view: Args, method: string): void => {
    v.view = view;
    v.hash = `${Date.now()}.${randomBytes(4).toString('hex')}`;
    v.externalId = str(view.external_id) ?? v.externalId;
    v.versions.push({ view, method, at: Date.now() });
  };

  const createView = (
    view: Args,
    type: 'modal' | 'home',
    user: string | null,
    rootId: string | null,
    method: string,
  ): FakeView => {
    const viewId = nextId('V');
    const v: FakeView = {
      id: viewId,
      type,
      user,
      rootId: rootId ?? viewId,
      hash: '',
      externalId: null,
      view,
      closed: false,
      versions: [],
    };
    setView(v, view, method);
    views.set(viewId, v);
    return v;
  };

  const viewJson = (v: FakeView): Record<string, unknown> => ({
    ...v.view,
    id: v.id,
    team_id: FAKE_TEAM_ID,
    hash: v.hash,
    root_view_id: v.rootId,
    previous_view_id: null,
    state: { values: {} },
    app_id: 'AFAKEAPP01',
    bot_id: FAKE_BOT_ID,
  });

  const methods: Record<string, (args: Args) => Reply> = {
    // Answered before the handlers (it takes the app-level token, not the bot's).
    'apps.connections.open': () => err('not_allowed_token_type'),

    'auth.test': () =>
      ok({
        url: 'https://fake-slack.example/',
        team: 'Fake Team',
        user: 'deploy-bot',
        team_id: FAKE_TEAM_ID,
        user_id: FAKE_BOT_USER_ID,
        bot_id: FAKE_BOT_ID,
        is_enterprise_install: false,
      }),

    'chat.postMessage': (args) => {
      const channel = str(args.channel);
      const problem = channelProblem(channel) ?? messageProblem(args, true);
      if (problem !== null) return problem;
      const threadTs = str(args.thread_ts) ?? null;
      const text = (str(args.text) ?? '').slice(0, LIMITS.topLevelText);
      const blocks = blocksOf(args);
      const message: FakeMessage = {
        channel: channel!,
        ts: nextTs(),
        threadTs,
        user: FAKE_BOT_USER_ID,
        botId: FAKE_BOT_ID,
        text,
        blocks,
        deleted: false,
        versions: [{ text, blocks, method: 'chat.postMessage', at: Date.now() }],
      };
      store(message);
      return ok({ channel: message.channel, ts: message.ts, message: messageJson(message) });
    },

    'chat.update': (args) => {
      const channel = str(args.channel) ?? '';
      const ts = str(args.ts) ?? '';
      const message = messages.get(channel)?.get(ts);
      if (message === undefined || message.deleted) return err('message_not_found');
      if (message.user !== FAKE_BOT_USER_ID) return err('cant_update_message');
      const problem = messageProblem(args, false);
      if (problem !== null) return problem;
      // Like Slack: omitted text or blocks keep their previous value.
      const text =
        args.text !== undefined
          ? (str(args.text) ?? '').slice(0, LIMITS.topLevelText)
          : message.text;
      const blocks = args.blocks !== undefined ? blocksOf(args) : message.blocks;
      if (text === '' && (blocks === null || blocks.length === 0)) return err('no_text');
      message.text = text;
      message.blocks = blocks;
      message.versions.push({ text, blocks, method: 'chat.update', at: Date.now() });
      return ok({ channel, ts, text, message: messageJson(message) });
    },

    'chat.delete': (args) => {
      const channel = str(args.channel) ?? '';
      const ts = str(args.ts) ?? '';
      const message = messages.get(channel)?.get(ts);
      if (message === undefined || message.deleted) return err('message_not_found');
      if (message.user !== FAKE_BOT_USER_ID) return err('cant_delete_message');
      message.deleted = true;
      return ok({ channel, ts });
    },

    'chat.postEphemeral': (args) => {
      const channel = str(args.channel);
      const user = str(args.user);
      const problem = channelProblem(channel) ?? messageProblem(args, true);
      if (problem !== null) return problem;
      if (user === undefined || userInfo(user) === null) return err('user_not_in_channel');
      const messageTs = nextTs();
      ephemerals.push({
        channel: channel!,
        user,
        text: str(args.text) ?? '',
        blocks: blocksOf(args),
        threadTs: str(args.thread_ts) ?? null,
        messageTs,
      });
      return ok({ message_ts: messageTs });
    },

    'chat.getPermalink': (args) => {
      const channel = str(args.channel) ?? '';
      const ts = str(args.message_ts) ?? '';
      const message = messages.get(channel)?.get(ts);
      if (message === undefined || message.deleted) return err('message_not_found');
      const thread =
        message.threadTs !== null ? `?thread_ts=${message.threadTs}&cid=${channel}` : '';
      return ok({
        channel,
        permalink: `https://fake-slack.example/archives/${channel}/p${ts.replace('.', '')}${thread}`,
      });
    },

    'views.open': (args) => {
      const trigger = takeTrigger(args.trigger_id);
      if ('error' in trigger) return err(trigger.error);
      const problem = viewProblem(args.view, 'modal');
      if (problem !== null) return problem;
      const v = createView(args.view as Args, 'modal', trigger.user ?? null, null, 'views.open');
      return ok({ view: viewJson(v) });
    },

    'views.push': (args) => {
      const trigger = takeTrigger(args.trigger_id);
      if ('error' in trigger) return err(trigger.error);
      const under = trigger.view !== undefined ? views.get(trigger.view) : undefined;
      // Slack: a push needs the trigger of an interaction inside an open modal.
      if (under === undefined || under.type !== 'modal' || under.closed)
        return err('invalid_arguments', {
          response_metadata: { messages: ['[ERROR] no open modal to push onto'] },
        });
      const depth = [...views.values()].filter(
        (v) => v.rootId === under.rootId && !v.closed,
      ).length;
      if (depth >= VIEW_LIMITS.stack) return err('push_limit_reached');
      const problem = viewProblem(args.view, 'modal');
      if (problem !== null) return problem;
      const v = createView(args.view as Args, 'modal', under.user, under.rootId, 'views.push');
      return ok({ view: viewJson(v) });
    },

    'views.update': (args) => {
      const viewId = str(args.view_id);
      const externalId = str(args.external_id);
      if (viewId === undefined && externalId === undefined) return err('invalid_arguments');
      const v =
        viewId !== undefined
          ? views.get(viewId)
          : [...views.values()].find((x) => x.externalId === externalId);
      if (v === undefined || v.closed) return err('not_found');
      const hash = str(args.hash);
      if (hash !== undefined && hash !== v.hash) return err('hash_conflict');
      const problem = viewProblem(args.view, v.type);
      if (problem !== null) return problem;
      setView(v, args.view as Args, 'views.update');
      return ok({ view: viewJson(v) });
    },

    'views.publish': (args) => {
      const user = str(args.user_id);
      if (user === undefined || userInfo(user) === null) return err('user_not_found');
      const now = Date.now();
      const recent = (publishes.get(user) ?? []).filter((t) => now - t < homeRate.perMs);
      if (recent.length >= homeRate.max) {
        publishes.set(user, recent);
        return {
          status: 429,
          headers: { 'retry-after': '1' },
          body: { ok: false, error: 'ratelimited' },
        };
      }
      const problem = viewProblem(args.view, 'home');
      if (problem !== null) return problem;
      recent.push(now);
      publishes.set(user, recent);
      const existing = homes.get(user);
      const current = existing !== undefined ? views.get(existing) : undefined;
      const hash = str(args.hash);
      if (current !== undefined) {
        if (hash !== undefined && hash !== current.hash) return err('hash_conflict');
        setView(current, args.view as Args, 'views.publish');
        return ok({ view: viewJson(current) });
      }
      const v = createView(args.view as Args, 'home', user, null, 'views.publish');
      homes.set(user, v.id);
      return ok({ view: viewJson(v) });
    },

    'conversations.open': (args) => {
      const users = (str(args.users) ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      if (users.length === 0) return err('users_list_not_supplied');
      for (const u of users) if (userInfo(u) === null) return err('user_not_found');
      if (users.length > 8) return err('too_many_users');
      const key = [...users].sort().join(',');
      let channel = dms.get(key);
      const already = channel !== undefined;
      if (channel === undefined) {
        channel = nextId(users.length === 1 ? 'D' : 'G');
        dms.set(key, channel);
      }
      return ok({ channel: { id: channel }, ...(already ? { already_open: true } : {}) });
    },

    'usergroups.users.list': (args) => {
      const group = str(args.usergroup) ?? '';
      const users = userGroups.get(group);
      if (users === undefined) return err('no_such_subteam');
      return ok({ users: [...users] });
    },

    'users.info': (args) => {
      const user = userInfo(str(args.user) ?? '');
      if (user === null) return err('user_not_found');
      return ok({
        user: {
          id: user.id,
          team_id: FAKE_TEAM_ID,
          name: user.name,
          real_name: user.real_name,
          deleted: user.deleted,
          is_bot: user.is_bot,
          tz: user.tz,
          profile: { real_name: user.real_name, display_name: user.name },
        },
      });
    },

    'conversations.info': (args) => {
      const channel = channelInfo(str(args.channel) ?? '');
      if (channel === null) return err('channel_not_found');
      return ok({
        channel: {
          id: channel.id,
          name: channel.name,
          is_channel: !channel.is_private,
          is_group: channel.is_private,
          is_private: channel.is_private,
          is_member: channel.is_member,
          is_archived: false,
        },
      });
    },

    'files.getUploadURLExternal': (args) => {
      const filename = str(args.filename);
      const length = Number(str(args.length));
      if (filename === undefined || filename === '' || !Number.isInteger(length) || length < 0) {
        return err('invalid_arguments');
      }
      const id = nextId('F');
      files.set(id, {
        id,
        filename,
        length,
        title: filename,
        content: null,
        completed: false,
        channel: null,
        threadTs: null,
        initialComment: null,
      });
      return ok({ upload_url: `${origin}/upload/${id}`, file_id: id });
    },

    'files.completeUploadExternal': (args) => {
      const list = args.files;
      if (!Array.isArray(list) || list.length === 0) return err('invalid_arguments');
      const entries: FakeFile[] = [];
      for (const entry of list as unknown[]) {
        const id =
          typeof entry === 'object' && entry !== null ? str((entry as Args).id) : undefined;
        const file = id !== undefined ? files.get(id) : undefined;
        if (file === undefined || file.content === null) return err('file_not_found');
        const title = str((entry as Args).title);
        if (title !== undefined) file.title = title;
        entries.push(file);
      }
      const channel = str(args.channel_id) ?? null;
      if (channel !== null) {
        const problem = channelProblem(channel);
        if (problem !== null) return problem;
      }
      for (const file of entries) {
        file.completed = true;
        file.channel = channel;
        file.threadTs = str(args.thread_ts) ?? null;
        file.initialComment = str(args.initial_comment) ?? null;
      }
      return ok({
        files: entries.map((f) => ({
          id: f.id,
          name: f.filename,
          title: f.title,
          size: f.content?.length ?? 0,
          permalink: `https://fake-slack.example/files/${f.id}`,
        })),
      });
    },
  };

  const handleApi = async (
    method: string,
    req: IncomingMessage,
    raw: Buffer,
    query: URLSearchParams,
  ): Promise<Reply> => {
    const contentType = req.headers['content-type'] ?? '';
    const parsed = await parseBody(contentType, raw);
    const rawArgs: Args = { ...Object.fromEntries(query), ...(parsed?.args ?? {}) };
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : null;
    const token = bearer ?? str(rawArgs.token) ?? null;
    delete rawArgs.token;
    const args = decodeJsonFields(rawArgs);
    const reply = ((): Reply => {
      if (Date.now() < downUntil)
        return { status: 503, body: { ok: false, error: 'service_unavailable' } };
      const fault = takeFault(method);
      if (fault !== null) return faultReply(fault);
      if (parsed === null) return err('invalid_json');
      const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
      if (handler === undefined) return err('unknown_method');
      if (token === null || token === '') return err('not_authed');
      if (method === 'apps.connections.open') {
        if (!appTokens.has(token))
          return err(token.startsWith('xapp-') ? 'invalid_auth' : 'not_allowed_token_type');
        return ok({ url: `${origin.replace('http:', 'ws:')}/socket-mode?ticket=${nextId('W')}` });
      }
      if (!tokens.has(token)) return err('invalid_auth');
      return handler(args);
    })();
    calls.push({
      method,
      args,
      token,
      contentType,
      status: reply.status ?? 200,
      response: reply.body,
      at: Date.now(),
    });
    return reply;
  };

  const handleUpload = async (
    id: string,
    req: IncomingMessage,
    raw: Buffer,
    res: ServerResponse,
  ) => {
    if (Date.now() < downUntil)
      return send(res, { status: 503, body: { ok: false, error: 'service_unavailable' } });
    const fault = takeFault('upload');
    if (fault !== null) return send(res, faultReply(fault));
    const file = files.get(id);
    if (file === undefined)
      return send(res, { status: 404, body: { ok: false, error: 'file_not_found' } });
    const contentType = req.headers['content-type'] ?? '';
    let content = raw;
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      const parsed = await parseBody(contentType, raw);
      content = parsed?.files[0]?.content ?? Buffer.from(str(parsed?.args.body) ?? '');
    }
    file.content = content;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${content.length}`);
  };

  const handleResponse = (path: string, raw: Buffer, res: ServerResponse) => {
    const url = `${origin}${path}`;
    const record = (status: number, body: unknown, reply: Reply) => {
      responses.push({ url, body, status, at: Date.now() });
      send(res, { ...reply, status });
    };
    let body: unknown = raw.toString('utf8');
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // recorded as text
    }
    if (Date.now() < downUntil) return record(503, body, err('service_unavailable'));
    const fault = takeFault('response_url');
    if (fault !== null) {
      const reply = faultReply(fault);
      return record(reply.status ?? 200, body, reply);
    }
    const used = responseUrls.get(url);
    if (used === undefined) return record(404, body, err('expired_url'));
    if (used >= maxResponseUses) return record(404, body, err('used_url'));
    responseUrls.set(url, used + 1);
    if (typeof body !== 'object' || body === null) return record(400, body, err('invalid_payload'));
    const problem = messageProblem(body as Args, false);
    if (problem !== null) return record(400, body, problem);
    return record(200, body, ok());
  };

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const raw = await readBody(req);
        const url = new URL(req.url ?? '/', 'http://fake');
        const path = url.pathname;
        if (path.startsWith('/api/')) {
          const method = decodeURIComponent(path.slice('/api/'.length));
          send(res, await handleApi(method, req, raw, url.searchParams));
        } else if (path.startsWith('/upload/')) {
          await handleUpload(decodeURIComponent(path.slice('/upload/'.length)), req, raw, res);
        } else if (path.startsWith('/response/')) {
          handleResponse(path, raw, res);
        } else {
          send(res, { status: 404, body: { ok: false, error: 'not_found' } });
        }
      } catch (error) {
        send(res, {
          status: 500,
          body: { ok: false, error: 'fake_slack_crashed', detail: String(error) },
        });
      }
    })();
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/socket-mode' || Date.now() < downUntil) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      return;
    }
    const conn = acceptWebSocket(
      req,
      socket,
      (_c, text) => {
        try {
          const message = JSON.parse(text) as { envelope_id?: unknown; payload?: unknown };
          if (typeof message.envelope_id === 'string') {
            pendingAcks.get(message.envelope_id)?.({ payload: message.payload });
            pendingAcks.delete(message.envelope_id);
          }
        } catch {
          // not JSON: ignored, as Slack does
        }
      },
      (c) => sockets.delete(c),
    );
    if (!conn) return;
    sockets.add(conn);
    conn.sendText(
      JSON.stringify({
        type: 'hello',
        num_connections: sockets.size,
        debug_info: { host: 'fake-slack', approximate_connection_time: 3600 },
        connection_info: { app_id: 'AFAKEAPP01' },
      }),
    );
    // Slack pings the client regularly; the client reconnects when the pings stop.
    const ping = setInterval(() => {
      if (!conn.open) return clearInterval(ping);
      socket.write(wsFrame(0x9, Buffer.from('ping')));
    }, 5000);
    ping.unref();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  const sortedMessages = (channel: string): FakeMessage[] =>
    [...(messages.get(channel)?.values() ?? [])].sort((a, b) => Number(a.ts) - Number(b.ts));

  return {
    url: `${origin}/api/`,
    origin,
    calls,
    messages,
    ephemerals,
    files,
    responses,
    userGroups,
    callsTo: (method) => calls.filter((c) => c.method === method),
    message: (channel, ts) => messages.get(channel)?.get(ts),
    channelMessages: sortedMessages,
    thread: (channel, ts) => sortedMessages(channel).filter((m) => m.threadTs === ts),
    seedMessage: (channel, { text, user, threadTs }) => {
      const message: FakeMessage = {
        channel,
        ts: nextTs(),
        threadTs: threadTs ?? null,
        user,
        botId: null,
        text,
        blocks: null,
        deleted: false,
        versions: [{ text, blocks: null, method: 'seed', at: Date.now() }],
      };
      store(message);
      return message;
    },
    fail: (method, fault, times = 1) => {
      faults.push({ method, fault, remaining: times });
    },
    clearFaults: () => {
      faults = [];
    },
    down: (ms) => {
      downUntil = ms === undefined ? Number.POSITIVE_INFINITY : Date.now() + ms;
    },
    up: () => {
      downUntil = 0;
    },
    responseUrl: () => {
      const url = `${origin}/response/${randomBytes(8).toString('hex')}`;
      responseUrls.set(url, 0);
      return url;
    },
    responsesFor: (url) => responses.filter((r) => r.url === url),
    views,
    home: (user) => {
      const viewId = homes.get(user);
      return viewId !== undefined ? views.get(viewId) : undefined;
    },
    modals: () => [...views.values()].filter((v) => v.type === 'modal'),
    triggerId: (o = {}) => {
      triggerCounter += 1;
      const trigger = `${Date.now()}.${900_000 + triggerCounter}.faketrigger`;
      if (o.view !== undefined || o.user !== undefined) triggerViews.set(trigger, o);
      return trigger;
    },
    dmChannel: (user) => {
      let channel = dms.get(user);
      if (channel === undefined) {
        channel = nextId('D');
        dms.set(user, channel);
      }
      return channel;
    },
    socketMode: {
      connections: () => [...sockets].filter((c) => c.open).length,
      waitForConnection: async (timeoutMs = 10_000) => {
        const deadline = Date.now() + timeoutMs;
        while ([...sockets].filter((c) => c.open).length === 0) {
          if (Date.now() > deadline) throw new Error('fake slack: no Socket Mode connection');
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      send: (type, payload, o = {}) => {
        const conn = [...sockets].find((c) => c.open);
        if (!conn) return Promise.reject(new Error('fake slack: no Socket Mode connection'));
        envelopeCounter += 1;
        const envelopeId = `env-${envelopeCounter}-${randomBytes(4).toString('hex')}`;
        const started = Date.now();
        return new Promise<FakeSocketAck>((resolve, reject) => {
          const timer = setTimeout(() => {
            pendingAcks.delete(envelopeId);
            reject(
              new Error(`fake slack: no ack for ${envelopeId} within ${o.timeoutMs ?? 3000}ms`),
            );
          }, o.timeoutMs ?? 3000);
          pendingAcks.set(envelopeId, (ack) => {
            clearTimeout(timer);
            resolve({ envelopeId, payload: ack.payload, ms: Date.now() - started });
          });
          conn.sendText(
            JSON.stringify({
              envelope_id: envelopeId,
              type,
              payload,
              accepts_response_payload: type === 'slash_commands' || type === 'interactive',
              retry_attempt: o.retryAttempt ?? 0,
              retry_reason: o.retryAttempt ? 'timeout' : '',
            }),
          );
        });
      },
      dropAll: () => {
        for (const c of sockets) c.close();
      },
    },
    waitFor: async <T>(check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = check();
        if (value !== undefined && value !== null && value !== false) return value;
        if (Date.now() > deadline)
          throw new Error(`fake slack: condition not met within ${timeoutMs}ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    reset: () => {
      calls.length = 0;
      messages.clear();
      ephemerals.length = 0;
      files.clear();
      responses.length = 0;
      views.clear();
      homes.clear();
      publishes.clear();
      faults = [];
      downUntil = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const c of sockets) {
          c.open = false;
          c.socket.destroy();
        }
        sockets.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
