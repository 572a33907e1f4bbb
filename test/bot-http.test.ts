// The bot's HTTP surface: Slack's signature (forged, unsigned, stale, future,
// tampered: 401 and nothing changes), malformed bodies (400), acks within 3 s
// whatever the database is doing, acks from the HTTP thread while the main
// thread is busy, health and readiness, the JSON API, and a clean stop.

import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotHttpServer } from '../src/bot/http/receiver.ts';
import { botRoutes } from '../src/bot/http/routes.ts';
import { verifySlackSignature } from '../src/bot/http/verify.ts';
import { localBotPort } from '../src/bot/local-port.ts';
import { silentLog } from '../src/bot/log.ts';
import { ACTION_IDS } from '../src/bot/render/actions.ts';
import type { RunView } from '../src/core/api/types.ts';
import { type BotHarness, CHANNEL, shownStatus, startBotHarness } from './support/bot-harness.ts';
import {
  blockActionsBody,
  signedFormHeaders,
  signSlackRequest,
  slashCommandBody,
  TEST_SIGNING_SECRET,
} from './support/slack-signing.ts';

const API_TOKEN = 'test-api-token-0123456789';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo "plan $DEPLOY_VAR_image_tag"
echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': `echo applying`,
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({ config: CONFIG, files: FILES, apiToken: API_TOKEN });
});
afterAll(async () => {
  await b?.close();
});

const now = () => Math.floor(Date.now() / 1000);

async function post(body: string, headers: Record<string, string>) {
  const started = performance.now();
  const res = await fetch(b.eventsUrl, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text(), ms: performance.now() - started };
}

async function runCount(): Promise<number> {
  return (await b.h.core.listRuns({ limit: 1000 })).length;
}

async function requestCount(): Promise<number> {
  const [row] = await b.h.core.connection.sql<{ n: number }[]>`
    select count(*)::int as n from slack_requests`;
  return row?.n ?? 0;
}

function command(text: string) {
  return slashCommandBody({
    text,
    userId: 'U0REQUESTER',
    channelId: CHANNEL,
    responseUrl: b.slack.responseUrl(),
  });
}

describe('signature verification', () => {
  it("matches Slack's published known-answer example", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const verified = verifySlackSignature({
      signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
      body,
      timestamp: '1531420618',
      signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      nowSeconds: 1531420618 + 10,
    });
    expect(verified).toEqual({ ok: true });
  });

  it('refuses forged, unsigned, stale, future and tampered requests with 401, changing nothing', async () => {
    const runsBefore = await runCount();
    const requestsBefore = await requestCount();
    const body = command('web image_tag=1.0.0');
    const cases: [string, Record<string, string>, string][] = [
      ['forged (wrong secret)', signedFormHeaders('not-the-secret-at-all-000', body), body],
      ['unsigned', { 'content-type': 'application/x-www-form-urlencoded' }, body],
      [
        'no timestamp',
        {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-signature': signSlackRequest(TEST_SIGNING_SECRET, body)['x-slack-signature'],
        },
        body,
      ],
      ['stale (6 minutes old)', signedFormHeaders(TEST_SIGNING_SECRET, body, now() - 360), body],
      [
        'from the future (6 minutes)',
        signedFormHeaders(TEST_SIGNING_SECRET, body, now() + 360),
        body,
      ],
      [
        'tampered body',
        signedFormHeaders(TEST_SIGNING_SECRET, body),
        body.replace('image_tag%3D1.0.0', 'image_tag%3D6.6.6'),
      ],
      [
        'malformed signature',
        { ...signedFormHeaders(TEST_SIGNING_SECRET, body), 'x-slack-signature': 'v1=abc' },
        body,
      ],
      [
        'garbage timestamp',
        { ...signedFormHeaders(TEST_SIGNING_SECRET, body), 'x-slack-request-timestamp': 'soon' },
        body,
      ],
    ];
    for (const [what, headers, sent] of cases) {
      const res = await post(sent, headers);
      expect(res.status, what).toBe(401);
      expect(res.text, what).toBe('');
    }
    // A stale but otherwise correct click is refused too.
    const click = blockActionsBody({
      message: {
        ts: '1.0',
        blocks: [
          {
            type: 'actions',
            block_id: 'actions:run-x',
            elements: [
              {
                type: 'button',
                action_id: ACTION_IDS.approvePlan,
                text: { type: 'plain_text', text: 'Approve' },
                value: '{"runId":"run-x","version":1,"planId":null}',
              },
            ],
          },
        ],
      },
      channelId: CHANNEL,
      userId: 'U0APPROVER',
      actionId: ACTION_IDS.approvePlan,
      responseUrl: b.slack.responseUrl(),
    });
    expect(
      (await post(click, signedFormHeaders(TEST_SIGNING_SECRET, click, now() - 301))).status,
    ).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(await runCount()).toBe(runsBefore);
    expect(await requestCount()).toBe(requestsBefore);
    expect(b.slack.responses).toHaveLength(0);
    expect(
      b.logs.some((l) => l.msg === 'refused a Slack request' && l.reason === 'signature mismatch'),
    ).toBe(true);
  });

  it('a request five minutes minus a little old is still accepted', async () => {
    const body = command('help');
    const res = await post(body, signedFormHeaders(TEST_SIGNING_SECRET, body, now() - 290));
    expect(res.status).toBe(200);
  });
});

describe('malformed bodies', () => {
  const signed = (body: string, contentType = 'application/x-www-form-urlencoded') => ({
    ...signSlackRequest(TEST_SIGNING_SECRET, body),
    'content-type': contentType,
  });

  it('answers 400 and keeps serving', async () => {
    const runsBefore = await runCount();
    const bodies: [string, string, string | undefined][] = [
      ['payload is not JSON', 'payload=%7Bnot-json', undefined],
      ['payload is a number', 'payload=42', undefined],
      [
        'block_actions without user or actions',
        `payload=${encodeURIComponent('{"type":"block_actions"}')}`,
        undefined,
      ],
      [
        'block_actions with an empty actions list',
        `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U1' }, trigger_id: 't', actions: [] }))}`,
        undefined,
      ],
      ['neither command nor payload', 'hello=world', undefined],
      [
        'command without a response_url',
        new URLSearchParams({
          command: '/deploy',
          text: 'list',
          user_id: 'U1',
          channel_id: 'C1',
          trigger_id: 't',
        }).toString(),
        undefined,
      ],
      ['JSON that is not an object', '[1,2,3]', 'application/json'],
      ['JSON that does not parse', '{"type":', 'application/json'],
      ['unsupported content type', 'whatever', 'text/plain'],
    ];
    for (const [what, body, type] of bodies) {
      const res = await post(body, signed(body, type));
      expect(res.status, what).toBe(400);
    }
    expect(await runCount()).toBe(runsBefore);
    // Still alive and well.
    const ok = await b.command('help');
    expect(ok.status).toBe(200);
    await b.replies(ok.responseUrl);
  });

  it('answers url_verification and ssl_check, refuses GET and oversized bodies', async () => {
    const challenge = JSON.stringify({ type: 'url_verification', challenge: 'abc123' });
    const res = await post(challenge, signed(challenge, 'application/json'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ challenge: 'abc123' });
    expect(
      (await post('ssl_check=1&token=x', { 'content-type': 'application/x-www-form-urlencoded' }))
        .status,
    ).toBe(200);
    expect((await fetch(b.eventsUrl)).status).toBe(405);
    const huge = `payload=${'x'.repeat(1_100_000)}`;
    const big = await fetch(b.eventsUrl, {
      method: 'POST',
      headers: signed(huge),
      body: huge,
    }).catch(() => null);
    expect(big === null || big.status === 413).toBe(true);
  });

  it('acknowledges payload types it has no listener for, at once', async () => {
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'view_closed', user: { id: 'U1', team_id: 'T1' }, team: { id: 'T1' }, view: { id: 'V1' } }))}`;
    const res = await post(body, signed(body));
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1000);
  });
});

describe('acknowledgement within 3 seconds', () => {
  it('acks commands and clicks at once even while the database is locked', async () => {
    // A run that waits for its plan approval, for the click.
    const first = await b.command('web image_tag=1.0.0');
    const runId = await b.runIdOf(first);
    const message = await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Awaiting plan'));

    const admin = postgres(b.h.db.url, { max: 1, onnotice: () => {} });
    const locked = admin.begin(async (tx) => {
      await tx`lock table runs in access exclusive mode`;
      await new Promise((r) => setTimeout(r, 4000));
    });
    await new Promise((r) => setTimeout(r, 200));
    try {
      const cmd = await b.command('web image_tag=2.0.0');
      const click = await b.click(message, ACTION_IDS.approvePlan);
      const list = await b.command('list');
      for (const res of [cmd, click, list]) {
        expect(res.status).toBe(200);
        expect(res.ms).toBeLessThan(1000);
      }
      // Nothing could be answered yet: the work waits for the database.
      expect(b.slack.responsesFor(cmd.responseUrl)).toHaveLength(0);
      await locked;
      // Then it happens.
      const second = await b.runIdOf(cmd);
      expect(second).not.toBe(runId);
      await b.replies(list.responseUrl);
      await b.h.waitFor(runId, 'awaiting_apply_approval');
    } finally {
      await locked.catch(() => {});
      await admin.end({ timeout: 5 });
    }
  });
});

describe('health, readiness and the JSON API', () => {
  const get = (path: string, token?: string) =>
    fetch(`${b.bot.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  it('/healthz and /readyz', async () => {
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, database: 'ok' });
    expect((await get('/nope')).status).toBe(404);
    expect((await fetch(`${b.bot.url}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('needs the bearer token', async () => {
    expect((await get('/api/runs')).status).toBe(401);
    expect((await get('/api/runs', 'wrong-token-wrong-token')).status).toBe(401);
    expect((await get('/api/runs/run-x', 'wrong-token-wrong-token')).status).toBe(401);
    const res = await fetch(`${b.bot.url}/api/runs`, { headers: { authorization: API_TOKEN } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('returns runs as the core views them (status --json), filtered', async () => {
    const res = await b.command('web image_tag=3.0.0');
    const runId = await b.runIdOf(res);
    await b.h.waitFor(runId, 'awaiting_plan_approval');
    const one = await get(`/api/runs/${runId}`, API_TOKEN);
    expect(one.status).toBe(200);
    const view = (await one.json()) as Record<string, unknown>;
    const core = JSON.parse(JSON.stringify(await b.h.core.getRun(runId)));
    expect({ ...view, durationSeconds: 0 }).toEqual({ ...core, durationSeconds: 0 });

    const list = (await (
      await get('/api/runs?deployment=web&status=awaiting_plan_approval', API_TOKEN)
    ).json()) as RunView[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((r) => r.id)).toContain(runId);
    for (const r of list)
      expect(r).toMatchObject({ deployment: 'web', status: 'awaiting_plan_approval' });
    const active = (await (
      await get('/api/runs?status=active&limit=2', API_TOKEN)
    ).json()) as RunView[];
    expect(active.length).toBeLessThanOrEqual(2);
    const none = await (await get('/api/runs?deployment=nothing-here', API_TOKEN)).json();
    expect(none).toEqual([]);

    expect((await get('/api/runs/run-doesnotexist', API_TOKEN)).status).toBe(404);
    expect((await get('/api/runs/bad%20id!', API_TOKEN)).status).toBe(400);
    const bad = await get('/api/runs?status=exploded', API_TOKEN);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('exploded is not a status');
    expect((await get('/api/runs?limit=0', API_TOKEN)).status).toBe(400);
  });

  it('is off without a token', async () => {
    const server = routesOnlyServer();
    const address = await server.start();
    try {
      const res = await fetch(`http://127.0.0.1:${address.port}/api/runs`, {
        headers: { authorization: 'Bearer anything-at-all-0000' },
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toContain('DEPLOY_API_TOKEN');
      // No Slack endpoint without a signing secret (Socket Mode).
      expect(
        (await fetch(`http://127.0.0.1:${address.port}/slack/events`, { method: 'POST' })).status,
      ).toBe(404);
      expect((await fetch(`http://127.0.0.1:${address.port}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

/** A request sent by `sendOffThread`, `at` ms after the start. */
type Timed = {
  readonly at: number;
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
};
type TimedResult = { status: number; ms: number; sentAt: number; answeredAt: number };

/**
 * Sends requests from a thread of their own, so that their timing does not
 * depend on this (main) thread, which the test keeps busy. Times: Date.now().
 */
async function sendOffThread(requests: readonly Timed[]): Promise<TimedResult[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const send = (r) => new Promise((resolve) => {
      const sentAt = Date.now();
      const started = performance.now();
      const done = (status) =>
        resolve({ status, ms: performance.now() - started, sentAt, answeredAt: Date.now() });
      const req = http.request(r.url, { method: r.method, headers: r.headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode));
      });
      req.on('error', () => done(-1));
      req.end(r.body ?? '');
    });
    Promise.all(workerData.map((r) => new Promise((ok) => setTimeout(ok, r.at)).then(() => send(r))))
      .then((out) => parentPort.postMessage(out));
  `;
  const client = new Worker(code, { eval: true, workerData: requests });
  try {
    return await new Promise<TimedResult[]>((resolve, reject) => {
      client.once('message', (out: TimedResult[]) => resolve(out));
      client.once('error', reject);
    });
  } finally {
    await client.terminate();
  }
}

describe('the HTTP thread', () => {
  it('acks while a listener blocks the main thread for 500 ms; routes answer once it is free', async () => {
    let blocked: { from: number; to: number } | null = null;
    b.bot.app.command('/busy', async ({ ack }) => {
      await ack();
      const from = Date.now();
      while (Date.now() - from < 500) {
        // a synchronous busy loop: nothing else runs on the main thread meanwhile
      }
      blocked = { from, to: Date.now() };
    });
    const signed = (body: string) => ({
      url: b.eventsUrl,
      method: 'POST',
      headers: signedFormHeaders(TEST_SIGNING_SECRET, body),
      body,
    });
    const busy = slashCommandBody({
      command: '/busy',
      text: '',
      userId: 'U0REQUESTER',
      channelId: CHANNEL,
      responseUrl: b.slack.responseUrl(),
    });
    const probes = [150, 250, 350].map((at) => ({ at, ...signed(command('help')) }));
    const health = { at: 200, url: `${b.bot.url}/healthz`, method: 'GET', headers: {} };
    const [first, ...rest] = await sendOffThread([{ at: 0, ...signed(busy) }, ...probes, health]);
    const window = blocked as { from: number; to: number } | null;
    expect(window).not.toBeNull();
    expect(first?.status).toBe(200);
    const acks = rest.slice(0, probes.length);
    for (const ack of acks) {
      expect(ack.status).toBe(200);
      expect(ack.ms).toBeLessThan(250);
    }
    // The acks came while the main thread was still in the busy loop.
    expect(acks.some((a) => a.answeredAt > window!.from && a.answeredAt < window!.to)).toBe(true);
    // A route is answered by the main thread: after the loop, and answered all the same.
    const healthz = rest[probes.length]!;
    expect(healthz.status).toBe(200);
    expect(healthz.answeredAt).toBeGreaterThanOrEqual(window!.to);
    // And the commands acked meanwhile were processed once the main thread was free.
    for (const probe of probes)
      await b.replies(new URLSearchParams(probe.body).get('response_url')!);
  });

  it('answers 503 to Slack before the app is set, and stops without leaving its thread', async () => {
    // Threads the process starts lazily (libuv's pool) are running before counting.
    await readFile(import.meta.filename);
    const threads = () => readdirSync('/proc/self/task').length;
    const before = threads();
    const server = new BotHttpServer({
      signingSecret: TEST_SIGNING_SECRET,
      port: 0,
      host: '127.0.0.1',
      log: silentLog,
      routes: botRoutes({ core: localBotPort(b.h.core), apiToken: undefined, log: silentLog }),
    });
    const address = await server.start();
    const base = `http://127.0.0.1:${address.port}`;
    expect(threads()).toBeGreaterThan(before);
    const body = command('help');
    const res = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: signedFormHeaders(TEST_SIGNING_SECRET, body),
      body,
    });
    expect(res.status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await server.stop();
    await server.stop();
    expect(threads()).toBe(before);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('refuses a second start while started, and starts again after a stop', async () => {
    const server = routesOnlyServer();
    const first = await server.start();
    await expect(server.start()).rejects.toThrow('already started');
    await server.stop();
    const second = await server.start();
    try {
      expect((await fetch(`http://127.0.0.1:${second.port}/healthz`)).status).toBe(200);
      expect(first.port).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('a port already in use fails the start with the reason', async () => {
    const taken = new URL(b.bot.url).port;
    const server = new BotHttpServer({
      signingSecret: null,
      port: Number(taken),
      host: '127.0.0.1',
      log: silentLog,
      routes: [],
    });
    await expect(server.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await server.stop();
  });
});

/** A server with only the plain routes (no Slack endpoint, no API token), on a free port. */
function routesOnlyServer() {
  return new BotHttpServer({
    signingSecret: null,
    port: 0,
    host: '127.0.0.1',
    log: silentLog,
    routes: botRoutes({ core: localBotPort(b.h.core), apiToken: undefined, log: silentLog }),
  });
}
