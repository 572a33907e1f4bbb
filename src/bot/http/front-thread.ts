// The HTTP front of the bot, in a worker thread of its own (started by
// BotHttpServer): it owns the listening server so that Slack's acks never wait
// for the main thread, which runs the listeners, the outbox and the engine's
// workers. POST /slack/events is read (1 MB at most: 413), Slack's SSL check
// answered, the signature verified (401), the body parsed (400; a
// url_verification gets its challenge), and the request answered 200 with an
// empty body at once (every listener acks with nothing) before it is handed
// to the main thread, which runs Bolt on it. Other routes (health, the JSON
// API) are answered by the main thread over the port, by request id: an
// /api/v1 request crosses as its method, path, headers, client address and
// body, and its answer comes back whole in one message (or, for a stream, as
// its head and then each chunk), so no second HTTP server or parser is involved.
//
// Imports stay to node:http, the verifier and the payload schemas (no Bolt,
// no database) so the thread starts quickly and stays small.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { parseSlackBody } from '../slack/payloads.ts';
import {
  API_BODY_LIMIT,
  type FrontMessage,
  type FrontOptions,
  type LogLevel,
  type MainMessage,
} from './front-protocol.ts';
import { header, readBody, sendEmpty, sendJson, sendText, TooLarge } from './http-io.ts';
import { restoreThreadPriority, threadNice } from './thread-priority.ts';
import { verifySlackSignature } from './verify.ts';

const port = parentPort;
if (port === null) throw new Error('front-thread.ts runs as a worker thread of BotHttpServer');
const options = workerData as FrontOptions;

let appReady = options.appReady;
let nextId = 1;
const waiting = new Map<number, ServerResponse>();
/** view_submission requests waiting for the listener's answer (Slack waits 3 s). */
const held = new Map<number, ServerResponse>();
const HOLD_MS = 2500;

const post = (message: FrontMessage) => port.postMessage(message);

function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}) {
  // Errors cross as plain fields (what the main thread's log would print of them).
  const plain = Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [
      k,
      v instanceof Error
        ? { name: v.name, message: v.message, ...('code' in v ? { code: v.code } : {}) }
        : v,
    ]),
  );
  post({ type: 'log', level, msg, fields: plain });
}

async function handleSlack(req: IncomingMessage, res: ServerResponse, signingSecret: string) {
  const received = performance.now();
  let raw: Buffer;
  try {
    raw = await readBody(req, options.bodyLimit);
  } catch (error) {
    return sendEmpty(res, error instanceof TooLarge ? 413 : 400);
  }
  const body = raw.toString('utf8');
  const contentType = header(req, 'content-type');
  // Slack's SSL check is unsigned; it is answered and nothing else is read from it.
  if (
    contentType?.startsWith('application/x-www-form-urlencoded') &&
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
    log('warn', 'refused a Slack request', { reason: verified.reason, status: 401 });
    return sendEmpty(res, 401);
  }
  const parsed = parseSlackBody(contentType, body);
  if (!parsed.ok) {
    log('warn', 'malformed Slack request', { reason: parsed.reason, status: 400 });
    return sendJson(res, 400, { error: 'malformed request' });
  }
  const value = parsed.value;
  if (value.kind === 'ssl_check') return sendEmpty(res, 200);
  if (value.kind === 'url_verification') return sendJson(res, 200, { challenge: value.challenge });
  if (!appReady) return sendEmpty(res, 503);

  // A form submission is answered by its listener (errors keep the modal open);
  // every other request is answered here, at once.
  const answerId = value.kind === 'other' && value.type === 'view_submission' ? nextId++ : null;
  if (answerId === null) sendEmpty(res, 200);
  else {
    held.set(answerId, res);
    setTimeout(() => {
      if (!held.delete(answerId)) return;
      log('warn', 'no answer to a view submission in time: closed the modal', {
        ms: HOLD_MS,
      });
      sendEmpty(res, 200);
    }, HOLD_MS).unref();
  }
  const retryHeader = header(req, 'x-slack-retry-num');
  const retryNum = retryHeader !== undefined ? Number.parseInt(retryHeader, 10) : Number.NaN;
  post({
    type: 'event',
    kind: value.kind,
    body: parsed.raw,
    retryNum: Number.isFinite(retryNum) ? retryNum : undefined,
    retryReason: header(req, 'x-slack-retry-reason'),
    ackMs: performance.now() - received,
    ackedAt: Date.now(),
    ...(answerId !== null ? { answerId } : {}),
  });
}

/** /api/v1 requests handed to the main thread, by id, until their answer ends. */
const apiWaiting = new Map<number, ServerResponse>();

/** /api/v1/… goes to the main thread over the port (streams included). */
function forwardApi(req: IncomingMessage, res: ServerResponse) {
  const id = nextId++;
  const hand = (body: Uint8Array | null) => {
    apiWaiting.set(id, res);
    res.once('close', () => {
      // Closed before the answer ended: the client went away (a stream ends there).
      if (apiWaiting.delete(id)) post({ type: 'api-closed', id });
    });
    post({
      type: 'api',
      id,
      method: (req.method ?? 'GET').toUpperCase(),
      url: req.url ?? '/',
      headers: req.headers,
      client: req.socket.remoteAddress ?? 'unknown',
      body,
    });
  };
  // A GET carries no body: it crosses now, not once an empty body has been read.
  const bodyless =
    req.headers['transfer-encoding'] === undefined &&
    (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
  if (bodyless) {
    req.resume();
    hand(null);
    return;
  }
  readBody(req, API_BODY_LIMIT, { drainUpTo: 16 * API_BODY_LIMIT }).then(
    (body) => hand(body),
    (error: unknown) =>
      error instanceof TooLarge
        ? sendJson(res, 413, {
            code: 'too_large',
            message: `the request body is over ${API_BODY_LIMIT / 1024} KiB`,
          })
        : sendEmpty(res, 400),
  );
}

function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://bot.invalid');
  const method = (req.method ?? 'GET').toUpperCase();
  if (options.api && (url.pathname === '/api/v1' || url.pathname.startsWith('/api/v1/'))) {
    return forwardApi(req, res);
  }
  if (url.pathname === options.eventsPath && options.signingSecret !== null) {
    if (method !== 'POST') return sendJson(res, 405, { error: 'POST only' }, { allow: 'POST' });
    return handleSlack(req, res, options.signingSecret);
  }
  const route = options.routes.findIndex((r) =>
    r.path.endsWith('/') ? url.pathname.startsWith(r.path) : url.pathname === r.path,
  );
  const found = options.routes[route];
  if (!found) return sendJson(res, 404, { error: 'not found' });
  if (method !== found.method && !(method === 'HEAD' && found.method === 'GET')) {
    return sendJson(res, 405, { error: `${found.method} only` }, { allow: found.method });
  }
  req.resume();
  const id = nextId++;
  waiting.set(id, res);
  res.once('close', () => waiting.delete(id));
  post({ type: 'route', id, route, url: req.url ?? '/', method, headers: req.headers });
}

const server = createServer((req, res) => {
  try {
    const done = handle(req, res);
    if (done instanceof Promise) {
      done.catch((error: unknown) => {
        log('error', 'request failed', { error, path: req.url });
        sendEmpty(res, 500);
      });
    }
  } catch (error) {
    log('error', 'request failed', { error, path: req.url });
    sendEmpty(res, 500);
  }
});
server.on('clientError', (_error, socket) => socket.destroy());

function stop() {
  server.close(() => post({ type: 'closed' }));
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 2000).unref();
}

port.on('message', (message: MainMessage) => {
  switch (message.type) {
    case 'app-ready':
      appReady = true;
      return;
    case 'route-result': {
      const res = waiting.get(message.id);
      waiting.delete(message.id);
      if (res) sendText(res, message.status, message.text, message.headers);
      return;
    }
    case 'answer': {
      const res = held.get(message.id);
      held.delete(message.id);
      if (res) sendText(res, 200, message.text);
      return;
    }
    case 'api-answer': {
      const res = apiWaiting.get(message.id);
      apiWaiting.delete(message.id);
      res?.writeHead(message.status, message.headers).end(message.text);
      return;
    }
    case 'api-head': {
      const res = apiWaiting.get(message.id);
      res?.writeHead(message.status, message.headers).flushHeaders();
      return;
    }
    case 'api-data':
      apiWaiting.get(message.id)?.write(message.text);
      return;
    case 'api-end': {
      const res = apiWaiting.get(message.id);
      apiWaiting.delete(message.id);
      res?.end(message.text);
      return;
    }
    case 'stop':
      stop();
      return;
  }
});

server.once('error', (error: NodeJS.ErrnoException) => {
  post({ type: 'listen-error', message: error.message, code: error.code });
});
server.listen(options.port, options.host, () => {
  server.removeAllListeners('error');
  if (options.nice !== null && !restoreThreadPriority(options.nice))
    log('warn', 'the HTTP thread, started again, runs at the lowered priority of the main thread', {
      nice: threadNice(),
      wanted: options.nice,
      fix: 'restart deploy-bot serve, or give it CAP_SYS_NICE',
    });
  server.on('error', (error) => log('error', 'HTTP server error', { error }));
  post({ type: 'listening', address: server.address() as AddressInfo });
});
