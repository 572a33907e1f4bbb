// /api/v1 through serve's HTTP front thread: a request crosses the thread's
// port as method, path, headers, client address and body; the answer comes
// back whole, or as a stream the client reads as it is written; a client that
// leaves a stream ends it on the main thread. (The API itself: api-port.test.ts.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForwardedRequest, ForwardedResponse } from '../src/bot/http/front-protocol.ts';
import { BotHttpServer } from '../src/bot/http/receiver.ts';
import { createLog } from '../src/bot/log.ts';

type Seen = { req: ForwardedRequest; res: ForwardedResponse };

let server: BotHttpServer;
let url: string;
const seen: Seen[] = [];
let streamClosed: () => void = () => {};
const closed = new Promise<void>((resolve) => {
  streamClosed = resolve;
});

beforeAll(async () => {
  server = new BotHttpServer({
    signingSecret: null,
    port: 0,
    host: '127.0.0.1',
    log: createLog({ level: 'silent' }),
    routes: [],
    api: async (req, res) => {
      seen.push({ req, res });
      if (req.url.startsWith('/api/v1/stream')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        res.write('event: a\n\n');
        res.write('event: b\n\n');
        const timer = setInterval(() => res.write(': tick\n\n'), 20);
        res.onClose(() => {
          clearInterval(timer);
          streamClosed();
        });
        return;
      }
      const body = req.body === null ? null : Buffer.from(req.body).toString('utf8');
      const text = JSON.stringify({ method: req.method, url: req.url, body });
      res.writeHead(201, { 'content-type': 'application/json', 'x-answer': 'yes' });
      res.end(text);
    },
  });
  const address = await server.start();
  url = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await server?.stop();
});

describe('/api/v1 through the HTTP front thread', () => {
  it('hands over method, path, headers, the client address and the body; the answer comes back whole', async () => {
    const res = await fetch(`${url}/api/v1/runs?limit=2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
      body: '{"deployment":"web"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-answer')).toBe('yes');
    expect(await res.json()).toEqual({
      method: 'POST',
      url: '/api/v1/runs?limit=2',
      body: '{"deployment":"web"}',
    });
    const last = seen.at(-1)!;
    // The address is the socket's: a header the client sends does not change it.
    expect(last.req.client).toMatch(/127\.0\.0\.1$/);
    expect(last.req.headers['x-forwarded-for']).toBe('203.0.113.9');
    const get = await fetch(`${url}/api/v1/me`);
    expect(await get.json()).toEqual({ method: 'GET', url: '/api/v1/me', body: null });
  });

  it('answers a body over 256 KiB with 413 itself, handing nothing over', async () => {
    const before = seen.length;
    const res = await fetch(`${url}/api/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: 'x'.repeat(300 * 1024),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      code: 'too_large',
      message: 'the request body is over 256 KiB',
    });
    expect(seen.length).toBe(before);
  });

  it('streams as the answer is written, and a client that leaves ends the stream here', async () => {
    const abort = new AbortController();
    const res = await fetch(`${url}/api/v1/stream`, { signal: abort.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(': tick')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    expect(text.startsWith('event: a\n\nevent: b\n\n')).toBe(true);
    abort.abort();
    await closed;
    expect(seen.at(-1)!.res.finished).toBe(false);
  });
});
