// The bot's HTTP server and Bolt receiver. POST /slack/events takes Slack's
// slash commands and clicks: a forged, unsigned or stale request gets 401 and
// goes no further; a malformed body gets 400; every accepted request is
// acknowledged within Slack's 3 seconds (the listeners ack first; a timer acks
// for them if they do not). Other routes (health, readiness, the JSON API) are
// plain handlers. Nothing a client sends can crash the process.
//
// Bolt's HTTPReceiver was not used because it answers a signed but malformed
// payload with 404 after 3 s or 500, and accepts timestamps from the future.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Log } from '../log.ts';
import { parseSlackBody } from '../slack/payloads.ts';
import { verifySlackSignature } from './verify.ts';

export const EVENTS_PATH = '/slack/events';
const BODY_LIMIT = 1024 * 1024;

export type RouteHandler = (
  req: IncomingMessage,
  url: URL,
) => Promise<{
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}>;

export type Route = {
  readonly method: 'GET';
  /** Matches the path exactly, or a prefix when it ends with "/". */
  readonly path: string;
  readonly handler: RouteHandler;
};

export type BotHttpServerOptions = {
  /** Null: no Slack endpoint (Socket Mode, or no Slack at all). */
  readonly signingSecret: string | null;
  readonly port: number;
  readonly host?: string | undefined;
  readonly routes: readonly Route[];
  readonly log: Log;
  /** Acknowledge for a listener that has not done so by then (default 2500 ms). */
  readonly ackTimeoutMs?: number;
};

class TooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(new TooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers = {}) {
  if (res.headersSent) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendEmpty(res: ServerResponse, status: number) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

export class BotHttpServer implements Receiver {
  private app: App | undefined;
  private server: Server | undefined;
  private readonly options: BotHttpServerOptions;
  private readonly log: Log;

  constructor(options: BotHttpServerOptions) {
    this.options = options;
    this.log = options.log.child({ component: 'http' });
  }

  init(app: App): void {
    this.app = app;
  }

  /** Listens; resolves with the address (port 0 picks a free one). */
  start(): Promise<AddressInfo> {
    if (this.server) return Promise.reject(new Error('the HTTP server is already started'));
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.log.error('request failed', { error, path: req.url });
        sendEmpty(res, 500);
      });
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.log.error('HTTP server error', { error }));
        resolve(server.address() as AddressInfo);
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://bot.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === EVENTS_PATH && this.options.signingSecret !== null) {
      if (method !== 'POST') return sendJson(res, 405, { error: 'POST only' }, { allow: 'POST' });
      return this.handleSlack(req, res, this.options.signingSecret);
    }
    const route = this.options.routes.find((r) =>
      r.path.endsWith('/') ? url.pathname.startsWith(r.path) : url.pathname === r.path,
    );
    if (!route) return sendJson(res, 404, { error: 'not found' });
    if (method !== route.method && !(method === 'HEAD' && route.method === 'GET')) {
      return sendJson(res, 405, { error: `${route.method} only` }, { allow: route.method });
    }
    req.resume();
    const out = await route.handler(req, url);
    sendJson(res, out.status, out.body, out.headers);
  }

  private async handleSlack(
    req: IncomingMessage,
    res: ServerResponse,
    signingSecret: string,
  ): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (error) {
      if (error instanceof TooLarge) return sendEmpty(res, 413);
      return sendEmpty(res, 400);
    }
    const body = raw.toString('utf8');
    // Slack's SSL check is unsigned; it is answered and nothing else is read from it.
    if (
      header(req, 'content-type')?.startsWith('application/x-www-form-urlencoded') &&
      new URLSearchParams(body).get('ssl_check') === '1'
    ) {
      return sendEmpty(res, 200);
    }
    const verified = verifySlackSignature({
      signingSecret,
      body,
      signature: header(req, 'x-slack-signature'),
      timestamp: header(req, 'x-slack-request-timestamp'),
    });
    if (!verified.ok) {
      this.log.warn('refused a Slack request', { reason: verified.reason, status: 401 });
      return sendEmpty(res, 401);
    }
    const parsed = parseSlackBody(header(req, 'content-type'), body);
    if (!parsed.ok) {
      this.log.warn('malformed Slack request', { reason: parsed.reason, status: 400 });
      return sendJson(res, 400, { error: 'malformed request' });
    }
    const value = parsed.value;
    if (value.kind === 'ssl_check') return sendEmpty(res, 200);
    if (value.kind === 'url_verification')
      return sendJson(res, 200, { challenge: value.challenge });
    const app = this.app;
    if (!app) return sendEmpty(res, 503);

    const started = Date.now();
    let acked = false;
    const ack = async (response?: unknown): Promise<void> => {
      if (acked) return;
      acked = true;
      const ms = Date.now() - started;
      if (response === undefined || response === null || response === '') sendEmpty(res, 200);
      else if (typeof response === 'string')
        sendJson(res, 200, { text: response, response_type: 'ephemeral' });
      else sendJson(res, 200, response);
      this.log.debug('acknowledged', { ms, kind: value.kind });
    };
    const timer = setTimeout(() => {
      if (!acked) {
        this.log.warn('a listener did not acknowledge in time: acknowledged for it', {
          kind: value.kind,
        });
        void ack();
      }
    }, this.options.ackTimeoutMs ?? 2500);
    timer.unref();

    const retryHeader = header(req, 'x-slack-retry-num');
    const retryNum = retryHeader !== undefined ? Number.parseInt(retryHeader, 10) : undefined;
    const event: ReceiverEvent = {
      // Bolt gets the body as Slack sent it (it reads fields beyond those validated).
      body: parsed.raw,
      ack,
      ...(retryNum !== undefined && Number.isFinite(retryNum) ? { retryNum } : {}),
      ...(header(req, 'x-slack-retry-reason') !== undefined
        ? { retryReason: header(req, 'x-slack-retry-reason') }
        : {}),
      customProperties: {},
    };
    try {
      await app.processEvent(event);
    } catch (error) {
      this.log.error('processing a Slack request failed', { error, kind: value.kind });
    } finally {
      clearTimeout(timer);
      // Nothing listens for this (an unknown payload type): acknowledge it anyway.
      if (!acked) await ack();
    }
  }
}
