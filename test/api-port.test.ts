// One core port, two transports: the same tests run over the in-process port
// and over /api/v1 on serve's HTTP port (the real HTTP front thread), then
// what only HTTP has: status codes, tokens, SSE resume, OpenAPI.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunChange } from '../src/core/api/core.ts';
import { httpPort } from '../src/core/api/http-client.ts';
import { type DeployPort, localPort } from '../src/core/api/port.ts';
import type { LogLine, RunView } from '../src/core/api/types.ts';
import { TOKEN_CACHE_MS } from '../src/core/auth/token-cache.ts';
import { revokeTokens, TOKEN_REVOKED_CHANNEL } from '../src/core/auth/tokens.ts';
import { type ApiHarness, startApiHarness } from './support/api-server.ts';
import { type Harness, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0ALICE, U0BOB]
    source: { kind: directory, path: ./app }
    variables:
      image_tag: { type: string, required: true }
      token: { type: string, sensitive: true, default: "api-secret-value" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
  - name: slow
    environment: staging
    approvers: [U0ALICE]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./slow-plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'app/plan.sh': `echo "plan $DEPLOY_VAR_image_tag $DEPLOY_VAR_token"; echo '{"changes":[{"address":"web.app","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': 'for i in 1 2 3; do echo "apply line $i"; done\n',
  'app/slow-plan.sh': 'for i in $(seq 1 40); do echo "slow line $i"; sleep 0.05; done\n',
};

let h: Harness;
let api: ApiHarness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES, workers: 1 });
  api = await startApiHarness(h);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

type Transport = { name: string; port(user: string): Promise<DeployPort> };
const TRANSPORTS: Transport[] = [
  {
    name: 'in-process',
    port: async (user) => localPort(h.core, () => ({ id: user, via: 'cli' })),
  },
  { name: 'HTTP', port: (user) => api.port(user) },
];

async function settle(port: DeployPort, runId: string, statuses: readonly string[]) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const run = await port.getRun(runId);
    if (statuses.includes(run.status)) return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} is ${run.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(TRANSPORTS)('the core port, $name', (transport) => {
  it('drives a run through both approvals under the policy; refusals change nothing', async () => {
    const req = await transport.port('U0REQ');
    const alice = await transport.port('U0ALICE');
    const bob = await transport.port('U0BOB');
    const requested = await req.requestRun({
      deployment: 'web',
      variables: { image_tag: '1.2.3' },
    });
    expect(requested).toMatchObject({
      deployment: 'web',
      requestedBy: 'U0REQ',
      status: expect.any(String),
    });
    expect(requested.configVersion).toBe(h.core.publication!.version.hash);
    const planned = await settle(req, requested.id, ['awaiting_plan_approval']);
    expect(planned.variables.token).toBe('••••••');
    // What each person may do now, as the core decides it (the requester only cancels).
    expect(planned.allowed).toEqual(['cancel']);
    expect((await alice.getRun(planned.id)).allowed).toEqual(['approve_plan', 'cancel']);

    await expect(req.approvePlan(planned.id)).rejects.toMatchObject({
      code: 'not_approver',
      message: expect.stringMatching(/^you are not an approver of web/),
    });
    await expect(alice.confirmApply(planned.id)).rejects.toMatchObject({ code: 'wrong_status' });
    expect((await req.getRun(planned.id)).status).toBe('awaiting_plan_approval');

    const approved = await alice.approvePlan(planned.id, { planId: planned.plan!.id });
    expect(approved.status).toBe('awaiting_apply_approval');
    const applying = await bob.confirmApply(planned.id, { planId: planned.plan!.id });
    expect(['applying', 'verifying', 'completed']).toContain(applying.status);
    const done = await settle(req, planned.id, ['completed']);
    // The run over either transport is the same object as status --json.
    expect(done).toEqual(
      await h.core.getRunFor(planned.id, {
        id: 'U0REQ',
        via: transport.name === 'HTTP' ? 'api' : 'cli',
      }),
    );
    expect(done.allowed).toEqual([]);

    const lines = await req.readLogs(done.id);
    expect(lines.map((l) => l.line)).toEqual(
      expect.arrayContaining(['plan 1.2.3 ••••••', 'apply line 1', 'apply line 3']),
    );
    expect(JSON.stringify(lines)).not.toContain('api-secret-value');
    expect((await req.readLogs(done.id, { tail: 1 })).length).toBe(1);

    const audit = await req.audit(done.id);
    expect(audit.map((t) => t.to)).toEqual(
      expect.arrayContaining(['awaiting_apply_approval', 'applying', 'completed']),
    );
    const approval = audit.find((t) => t.to === 'awaiting_apply_approval');
    expect(approval?.actor).toBe('U0ALICE');
    if (transport.name === 'HTTP') {
      expect(approval).toMatchObject({
        via: 'cli',
        credential: expect.stringMatching(/^token "test-U0ALICE" \(tok_[0-9a-f]+\)$/),
      });
    }
  });

  it('follows a log live, in order, each line once, and run changes', async () => {
    const alice = await transport.port('U0ALICE');
    const changes: string[] = [];
    const stopRuns = await alice.followRuns((c) => changes.push(`${c.runId}:${c.status}`));
    const run = await alice.requestRun({ deployment: 'slow' });
    const got: LogLine[] = [];
    const stopLogs = await alice.followLogs(run.id, (lines) => got.push(...lines), { afterId: 0 });
    await settle(alice, run.id, ['awaiting_plan_approval', 'no_changes']);
    const deadline = Date.now() + 5000;
    while (got.filter((l) => l.line.startsWith('slow line')).length < 40 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await stopLogs();
    await stopRuns();
    const slow = got.filter((l) => l.line.startsWith('slow line')).map((l) => l.line);
    expect(slow).toEqual(Array.from({ length: 40 }, (_, i) => `slow line ${i + 1}`));
    expect(new Set(got.map((l) => l.id)).size).toBe(got.length);
    expect(changes).toContain(`${run.id}:planning`);
    const final = await alice.getRun(run.id);
    if (final.status === 'awaiting_plan_approval')
      await alice.cancelRun(run.id, { reason: 'test' });
  });

  it('lists runs newest first in pages', async () => {
    const alice = await transport.port('U0ALICE');
    const all = (await alice.listRuns({ limit: 500 })).items;
    expect(all.length).toBeGreaterThanOrEqual(2);
    const first = await alice.listRuns({ limit: 1 });
    expect(first.items.map((r) => r.id)).toEqual([all[0]!.id]);
    expect(first.next).toBe(all[0]!.id);
    const second = await alice.listRuns({ limit: 1, before: first.next! });
    expect(second.items.map((r) => r.id)).toEqual([all[1]!.id]);
    const last = await alice.listRuns({ limit: 500, before: all.at(-2)!.id });
    expect(last).toEqual({ items: [all.at(-1)], next: null });
    const deployments = await alice.listDeployments();
    expect(deployments.map((d) => d.name)).toEqual(['web', 'slow']);
  });
});

describe('the API over HTTP', () => {
  const call = async (
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    const response = await fetch(`${api.url}/api/v1${path}`, {
      method,
      headers: {
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : null,
    };
  };

  it('answers a refusal with 403 or 409 and {code, message}; a run is what status --json prints', async () => {
    const req = await api.token('U0REQ');
    const alice = await api.token('U0ALICE');
    const created = await call('POST', '/runs', {
      token: req,
      body: { deployment: 'web', variables: { image_tag: '9' } },
    });
    expect(created.status).toBe(201);
    const run = await settle(
      localPort(h.core, () => ({ id: 'U0REQ', via: 'cli' })),
      created.body.id,
      ['awaiting_plan_approval'],
    );
    const got = await call('GET', `/runs/${run.id}`, { token: req });
    expect(got.body).toEqual(
      JSON.parse(JSON.stringify(await h.core.getRunFor(run.id, { id: 'U0REQ', via: 'api' }))),
    );
    expect(got.body.allowed).toEqual(['cancel']);
    expect(await call('POST', `/runs/${run.id}/approve`, { token: req })).toMatchObject({
      status: 403,
      body: {
        code: 'not_approver',
        message: expect.stringMatching(/^you are not an approver of web/),
      },
    });
    expect(await call('POST', `/runs/${run.id}/apply`, { token: alice })).toMatchObject({
      status: 409,
      body: { code: 'wrong_status', message: 'this run is now awaiting plan approval' },
    });
    expect(await call('POST', '/runs', { token: req, body: { deployment: 'webb' } })).toMatchObject(
      {
        status: 404,
        body: { code: 'unknown_deployment' },
      },
    );
    expect(await call('GET', '/runs/run-nope', { token: req })).toMatchObject({
      status: 404,
      body: { code: 'unknown_run' },
    });
    // A token acts only as its user: there is no field to name another.
    expect(
      await call('POST', `/runs/${run.id}/approve`, { token: req, body: { actor: 'U0ALICE' } }),
    ).toMatchObject({
      status: 400,
      body: { code: 'bad_request', message: expect.stringMatching(/actor/) },
    });
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_plan_approval');
    expect(
      (await call('POST', `/runs/${run.id}/cancel`, { token: req, body: { reason: 'done' } }))
        .status,
    ).toBe(200);
  });

  it('an automation token may request runs, never approve them', async () => {
    const ci = await api.token('automation:ci-pipeline', { name: 'ci' });
    const created = await call('POST', '/runs', {
      token: ci,
      body: { deployment: 'web', variables: { image_tag: 'ci' } },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { requestedBy: 'automation:ci-pipeline', requestedVia: 'api' },
    });
    await settle(
      localPort(h.core, () => ({ id: 'x', via: 'cli' })),
      created.body.id,
      ['awaiting_plan_approval'],
    );
    expect(await call('POST', `/runs/${created.body.id}/approve`, { token: ci })).toMatchObject({
      status: 403,
      body: { code: 'not_approver' },
    });
    const audit = await h.core.transitions(created.body.id);
    expect(audit[0]).toMatchObject({
      actor: 'automation:ci-pipeline',
      via: 'api',
      credential: expect.stringMatching(/^token "ci"/),
    });
    await call('POST', `/runs/${created.body.id}/cancel`, { token: ci });
  });

  it('resumes a live log after Last-Event-ID', async () => {
    const alice = await api.token('U0ALICE');
    const run = (
      await h.core.listRuns({ deployment: 'web', statuses: ['completed'] })
    )[0] as RunView;
    const lines = await h.core.readLogs(run.id);
    const from = lines[1]!.id;
    const controller = new AbortController();
    const response = await fetch(`${api.url}/api/v1/runs/${run.id}/logs/stream`, {
      headers: { authorization: `Bearer ${alice}`, 'last-event-id': String(from) },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let text = '';
    const decoder = new TextDecoder();
    const reader = response.body!.getReader();
    const deadline = Date.now() + 5000;
    while (!text.includes(`id: ${lines.at(-1)!.id}\n`) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(lines.slice(2).map((l) => l.id));
    expect(text).toContain('event: line');
  });

  it('publishes an OpenAPI 3.1 document made from the request schemas', async () => {
    const doc = await call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const post = doc.body.paths['/runs'].post;
    expect(post.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { deployment: { type: 'string' }, kind: { enum: ['execute', 'destroy'] } },
      required: ['deployment'],
    });
    expect(doc.body.paths['/runs'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['deployment', 'status', 'limit', 'before']),
    );
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/runs/{id}/logs/stream', '/events/runs', '/runs/{id}/approve']),
    );
  });

  it('refuses no, unknown, expired and revoked tokens with 401 saying to run deploy-bot login', async () => {
    const none = await call('GET', '/runs');
    expect(none).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(none.body.message).toMatch(/deploy-bot login/);
    const unknown = await call('GET', '/runs', { token: 'dbt_not-a-real-token' });
    expect(unknown).toMatchObject({
      status: 401,
      body: {
        message: 'this token is not valid: run `deploy-bot login --server URL` to sign in again',
      },
    });
    const expired = await api.token('U0ALICE', { expiresInMs: -1000 });
    expect((await call('GET', '/runs', { token: expired })).body.message).toMatch(
      /^this token has expired: run `deploy-bot login/,
    );
    const revoked = await api.token('U0ALICE', { name: 'to-revoke' });
    expect((await call('GET', '/me', { token: revoked })).status).toBe(200);
    expect(await revokeTokens(h.core.db, 'U0ALICE', { name: 'to-revoke' })).toBe(1);
    expect((await call('GET', '/runs', { token: revoked })).body.message).toMatch(
      /^this token was revoked: run `deploy-bot login/,
    );
    // Only hashes are stored.
    const rows = await h.core.connection.sql`select * from api_tokens`;
    expect(JSON.stringify(rows)).not.toContain(revoked);
    expect(JSON.stringify(rows)).not.toContain(revoked.slice(4));
  });

  it('/events/runs?with=run: each change carries the run as GET /runs/ID answers it; without it, none', async () => {
    const token = await api.token('U0ALICE', { name: 'with-run' });
    const withRun = httpPort({ server: api.url, token, client: 'tui', runsInChanges: true });
    const plain = httpPort({ server: api.url, token, client: 'cli' });
    const full: RunChange[] = [];
    const bare: RunChange[] = [];
    const stops = [
      await withRun.followRuns((c) => full.push(c)),
      await plain.followRuns((c) => bare.push(c)),
    ];
    const run = await withRun.requestRun({ deployment: 'slow' });
    const settled = await settle(withRun, run.id, ['awaiting_plan_approval', 'no_changes']);
    const deadline = Date.now() + 5000;
    while (!full.some((c) => c.version === settled.version) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    for (const stop of stops) await stop();
    await withRun.close();
    await plain.close();
    const last = full.find((c) => c.runId === run.id && c.version === settled.version);
    // The run as a list shows it: GET's, less what the reader may do (`allowed`).
    const { allowed: _allowed, ...asListed } = settled;
    expect(last?.run).toEqual(asListed);
    expect(full.filter((c) => c.runId === run.id).every((c) => c.run?.id === run.id)).toBe(true);
    expect(bare.length).toBeGreaterThan(0);
    expect(bare.every((c) => c.run === undefined)).toBe(true);
    if (settled.status === 'awaiting_plan_approval')
      await h.core.cancelRun(run.id, { id: 'U0ALICE', via: 'cli' });
  });

  it('a token revoked by another process stops working: at once by NOTIFY, within TOKEN_CACHE_MS without it', async () => {
    const revokedMessage = /^this token was revoked: run `deploy-bot login/;
    // Another process revokes as revokeTokens does: the update, then the NOTIFY.
    const notified = await api.token('U0ALICE', { name: 'elsewhere' });
    expect((await call('GET', '/me', { token: notified })).status).toBe(200);
    const [row] = await h.core.connection.sql<{ id: string }[]>`
      update api_tokens set revoked_at = now() where name = 'elsewhere' returning id`;
    await h.core.connection.sql`select pg_notify(${TOKEN_REVOKED_CHANNEL}, ${row!.id})`;
    await expect
      .poll(async () => (await call('GET', '/me', { token: notified })).body.message, {
        timeout: TOKEN_CACHE_MS / 2,
        interval: 20,
      })
      .toMatch(revokedMessage);
    // No notification at all (lost, or a hand-written update): the cache forgets
    // the acceptance after TOKEN_CACHE_MS and PostgreSQL refuses the token.
    const silent = await api.token('U0ALICE', { name: 'silently' });
    expect((await call('GET', '/me', { token: silent })).status).toBe(200);
    await h.core.connection.sql`update api_tokens set revoked_at = now() where name = 'silently'`;
    await new Promise((r) => setTimeout(r, TOKEN_CACHE_MS + 50));
    expect((await call('GET', '/me', { token: silent })).body.message).toMatch(revokedMessage);
  });

  it('refuses a request body over 256 KiB with 413, starting nothing', async () => {
    const alice = await api.token('U0ALICE');
    const before = (await h.core.listRuns({ limit: 500 })).length;
    const big = await call('POST', '/runs', {
      token: alice,
      body: { deployment: 'web', variables: { image_tag: 'x'.repeat(300 * 1024) } },
    });
    expect(big.status).toBe(413);
    expect(big.body).toEqual({ code: 'too_large', message: 'the request body is over 256 KiB' });
    expect((await h.core.listRuns({ limit: 500 })).length).toBe(before);
  });

  it('rate-limits repeated failures with 429 (state in PostgreSQL), and a good token from there too', async () => {
    const good = await api.token('U0ALICE');
    let last = { status: 0, headers: new Headers(), body: null as unknown };
    // An address the client claims is not believed: failures count against the one it connects from.
    for (let i = 0; i < 12; i++)
      last = await call('GET', '/runs', {
        token: `dbt_guess${i}`,
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
      });
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last.body).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/^too many failed sign-ins from .+: try again in \d+ s$/),
    });
    expect(JSON.stringify(last.body)).not.toContain('203.0.113');
    expect((await call('GET', '/runs', { token: good })).status).toBe(429);
    const [row] = await h.core.connection.sql`select failures from auth_failures`;
    expect(row?.failures).toBeGreaterThanOrEqual(10);
  });
});
