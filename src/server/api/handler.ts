// `/api/v1/…`: the core port over HTTP. JSON in and out; a run is the same
// object as `deploy-bot status --json`; a refusal is 403/409 (404 for an
// unknown run or deployment) with `{code, message}`; live logs and run changes
// are Server-Sent Events that resume from Last-Event-ID. Every request but the
// OpenAPI document needs `Authorization: Bearer <token>`: the token's user is
// who acts, under the same policy (and user-group resolution) as a Slack click.

import type { z } from 'zod';
import { accountsOf } from '../../core/api/accounts.ts';
import type { DeployCore, RunChange } from '../../core/api/core.ts';
import { localPort } from '../../core/api/port.ts';
import type { Actor, RunView, Via } from '../../core/api/types.ts';
import type { TokenCache } from '../../core/auth/token-cache.ts';
import {
  blockedFor,
  checkRequest,
  hashSecret,
  recordFailure,
  type TokenInfo,
} from '../../core/auth/tokens.ts';
import { errorMessage, isRefusal, type RefusalCode } from '../../core/errors.ts';
import { parseLockTarget } from '../../core/policy/lock-target.ts';
import type { ApiRequest, ApiResponse } from './exchange.ts';
import { openApiDocument } from './openapi.ts';
import {
  applySchema,
  cancelSchema,
  decisionSchema,
  describeIssues,
  followLogsQuery,
  listRunsQuery,
  lockSchema,
  loginCollectSchema,
  loginStartSchema,
  logsQuery,
  runIdSchema,
  runRequestSchema,
  unlockSchema,
} from './schemas.ts';
import { openEventStream } from './sse.ts';

export const API_PREFIX = '/api/v1';

export type ApiDeps = {
  readonly core: DeployCore;
  /** Unexpected trouble (a failed query): logged, the client gets 503. */
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** Tokens PostgreSQL accepted a moment ago (src/core/auth/token-cache.ts: at most a second). */
  readonly tokenCache?: TokenCache | undefined;
};

class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const REFUSAL_STATUS: Record<RefusalCode, number> = {
  unknown_deployment: 404,
  unknown_run: 404,
  invalid_variables: 422,
  channel_not_allowed: 403,
  not_approver: 403,
  self_approval: 403,
  plan_approver: 403,
  already_approved: 409,
  approval_not_needed: 409,
  rule_denied: 403,
  rule_failed: 403,
  no_identity: 403,
  wrong_status: 409,
  plan_changed: 409,
  deployment_busy: 409,
  not_cancellable: 409,
  not_supported: 409,
  approval_expired: 409,
  frozen: 409,
  locked: 409,
  already_locked: 409,
  not_locked: 409,
  lock_not_allowed: 403,
  reason_required: 422,
  // Slack could not confirm a user-group membership: try again shortly.
  membership_unconfirmed: 503,
  no_config: 503,
};

function sendJson(
  res: ApiResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

function readJson(req: ApiRequest): unknown {
  const text = req.body === null ? '' : Buffer.from(req.body).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpProblem(400, 'bad_request', 'the request body is not valid JSON');
  }
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpProblem(400, 'bad_request', describeIssues(result.error));
  return result.data;
}

const SIGN_IN = 'run `deploy-bot login --server URL` to sign in again';

async function authenticate(deps: ApiDeps, req: ApiRequest): Promise<TokenInfo> {
  const client = req.client;
  const header = req.headers.authorization;
  const bearer = typeof header === 'string' && /^Bearer\s+\S+$/i.test(header);
  const secret = bearer ? header.replace(/^Bearer\s+/i, '') : '';
  const cache = deps.tokenCache;
  const hash = bearer && cache !== undefined ? hashSecret(secret) : '';
  const remembered = hash === '' ? null : (cache?.get(hash, client) ?? null);
  if (remembered !== null) return remembered;
  // The failure count and the token in one round trip.
  const { blockedFor: wait, verified } = await checkRequest(deps.core.db, secret, client);
  if (wait > 0) {
    throw new HttpProblem(
      429,
      'rate_limited',
      `too many failed sign-ins from ${client}: try again in ${wait} s`,
      { 'retry-after': String(wait) },
    );
  }
  if (!bearer) {
    throw new HttpProblem(
      401,
      'unauthorized',
      `a token is required (Authorization: Bearer …): ${SIGN_IN.replace(' again', '')}, or ask an administrator for one (deploy-bot token create)`,
      { 'www-authenticate': 'Bearer realm="deploy-bot"' },
    );
  }
  if (verified.ok) {
    if (hash !== '') cache?.put(hash, client, verified.token);
    return verified.token;
  }
  await recordFailure(deps.core.db, client);
  const why =
    verified.reason === 'expired'
      ? 'this token has expired'
      : verified.reason === 'revoked'
        ? 'this token was revoked'
        : 'this token is not valid';
  throw new HttpProblem(401, 'unauthorized', `${why}: ${SIGN_IN}`, {
    'www-authenticate': 'Bearer realm="deploy-bot", error="invalid_token"',
  });
}

function actorOf(token: TokenInfo, req: ApiRequest): Actor {
  const client = req.headers['x-deploy-client'];
  const via: Via = client === 'cli' || client === 'tui' ? client : 'api';
  return { id: token.userId, via, credential: `token "${token.name}" (${token.id})` };
}

type Route = {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  /** Answered without a token (sign-in itself). */
  readonly public?: boolean;
  /**
   * A read with no effect, started together with the token check so that the
   * two database round trips overlap; its result (or error) is used only once
   * the token is accepted, and dropped otherwise.
   */
  readonly prefetch?: (params: string[]) => Promise<unknown>;
  readonly run: (ctx: {
    req: ApiRequest;
    res: ApiResponse;
    params: string[];
    url: URL;
    actor: Actor;
    token: TokenInfo;
    bearer: string;
    /** What prefetch read, once the token is accepted. */
    prefetched: unknown;
  }) => Promise<void>;
};

export function createApiHandler(deps: ApiDeps) {
  const { core } = deps;
  const portOf = (actor: Actor) => localPort(core, () => actor);
  const runId = (value: string | undefined) => parse(runIdSchema, decodeURIComponent(value ?? ''));

  const accounts = accountsOf(core);
  const routes: Route[] = [
    {
      method: 'POST',
      pattern: /^\/login\/start$/,
      public: true,
      run: async ({ req, res }) => {
        const body = parse(loginStartSchema, readJson(req));
        const { code, expiresAt } = await accounts.startLogin(body);
        sendJson(res, 201, {
          code,
          expiresAt: expiresAt.toISOString(),
          type: `/deploy login ${code}`,
        });
      },
    },
    {
      method: 'POST',
      pattern: /^\/login\/collect$/,
      public: true,
      run: async ({ req, res }) => {
        const body = parse(loginCollectSchema, readJson(req));
        const client = req.client;
        const wait = await blockedFor(core.db, client);
        if (wait > 0) {
          throw new HttpProblem(
            429,
            'rate_limited',
            `too many failed sign-ins from ${client}: try again in ${wait} s`,
            {
              'retry-after': String(wait),
            },
          );
        }
        const result = await accounts.collectLogin(body.code, body.verifier);
        switch (result.status) {
          case 'pending':
            return sendJson(res, 202, { status: 'pending' });
          case 'done':
            return sendJson(res, 200, {
              status: 'done',
              token: result.token.secret,
              user: result.token.info.userId,
              tokenId: result.token.info.id,
              expiresAt: result.token.info.expiresAt,
            });
          case 'expired':
            throw new HttpProblem(
              410,
              'login_expired',
              'the code expired (codes last 10 minutes): run deploy-bot login again',
            );
          case 'unknown':
            await recordFailure(core.db, client);
            throw new HttpProblem(
              404,
              'login_unknown',
              'no sign-in is waiting for this code and secret: run deploy-bot login again',
            );
        }
      },
    },
    {
      method: 'POST',
      pattern: /^\/logout$/,
      run: async ({ res, bearer }) => {
        await accounts.revokeBySecret(bearer);
        sendJson(res, 200, { revoked: true });
      },
    },
    {
      method: 'GET',
      pattern: /^\/me$/,
      run: async ({ res, token }) =>
        sendJson(res, 200, {
          user: token.userId,
          kind: token.kind,
          token: { id: token.id, name: token.name, expiresAt: token.expiresAt },
        }),
    },
    {
      method: 'GET',
      pattern: /^\/deployments$/,
      run: async ({ res, actor }) =>
        sendJson(res, 200, { items: await portOf(actor).listDeployments() }),
    },
    {
      method: 'GET',
      pattern: /^\/runs$/,
      run: async ({ res, url, actor }) => {
        const q = parse(listRunsQuery, Object.fromEntries(url.searchParams));
        const page = await portOf(actor).listRuns({
          deployment: q.deployment,
          environment: q.environment,
          statuses: q.status,
          limit: q.limit,
          before: q.before,
        });
        sendJson(res, 200, page);
      },
    },
    {
      method: 'POST',
      pattern: /^\/runs$/,
      run: async ({ req, res, actor }) => {
        const body = parse(runRequestSchema, readJson(req));
        sendJson(res, 201, await portOf(actor).requestRun(body));
      },
    },
    {
      method: 'GET',
      pattern: /^\/runs\/([^/]+)$/,
      // The run is read while the token is checked; who reads it (for `allowed`) after.
      prefetch: (params) => core.readRun(runId(params[0])),
      run: async ({ res, prefetched, actor }) =>
        sendJson(res, 200, await (prefetched as (reader: Actor) => Promise<RunView>)(actor)),
    },
    {
      method: 'POST',
      pattern: /^\/runs\/([^/]+)\/(approve|apply|cancel)$/,
      run: async ({ req, res, params, actor }) => {
        const id = runId(params[0]);
        const port = portOf(actor);
        const raw = readJson(req);
        const run =
          params[1] === 'approve'
            ? await port.approvePlan(id, parse(decisionSchema, raw))
            : params[1] === 'apply'
              ? await port.confirmApply(id, parse(applySchema, raw))
              : await port.cancelRun(id, parse(cancelSchema, raw));
        sendJson(res, 200, run);
      },
    },
    {
      method: 'GET',
      pattern: /^\/locks$/,
      run: async ({ res, actor }) => sendJson(res, 200, { items: await portOf(actor).listLocks() }),
    },
    {
      method: 'POST',
      pattern: /^\/locks$/,
      run: async ({ req, res, actor }) => {
        const body = parse(lockSchema, await readJson(req));
        const target = parseLockTarget(body.target)!;
        sendJson(res, 201, await portOf(actor).lock(target, body.reason));
      },
    },
    {
      method: 'POST',
      pattern: /^\/locks\/unlock$/,
      run: async ({ req, res, actor }) => {
        const body = parse(unlockSchema, await readJson(req));
        sendJson(res, 200, await portOf(actor).unlock(parseLockTarget(body.target)!));
      },
    },
    {
      method: 'GET',
      pattern: /^\/runs\/([^/]+)\/audit$/,
      run: async ({ res, params, actor }) => {
        const port = portOf(actor);
        const id = runId(params[0]);
        const [items, evaluations] = await Promise.all([port.audit(id), port.policyAudit(id)]);
        sendJson(res, 200, { items, evaluations });
      },
    },
    {
      method: 'GET',
      pattern: /^\/runs\/([^/]+)\/logs$/,
      run: async ({ res, params, url, actor }) => {
        const id = runId(params[0]);
        const q = parse(logsQuery, Object.fromEntries(url.searchParams));
        const port = portOf(actor);
        await port.getRun(id);
        const items =
          q.tail !== undefined
            ? await port.readLogs(id, { tail: q.tail })
            : q.before !== undefined
              ? await port.readLogs(id, { beforeId: q.before, limit: q.limit })
              : await port.readLogs(id, { afterId: q.after ?? 0, limit: q.limit });
        const full = q.tail === undefined && q.before === undefined && items.length === q.limit;
        sendJson(res, 200, { items, next: full ? String(items.at(-1)!.id) : null });
      },
    },
    {
      method: 'GET',
      pattern: /^\/runs\/([^/]+)\/logs\/count$/,
      run: async ({ res, params, actor }) => {
        const id = runId(params[0]);
        const port = portOf(actor);
        await port.getRun(id);
        sendJson(res, 200, { count: await port.countLogLines(id) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/runs\/([^/]+)\/logs\/stream$/,
      run: async ({ req, res, params, url, actor }) => {
        const id = runId(params[0]);
        const q = parse(followLogsQuery, Object.fromEntries(url.searchParams));
        const port = portOf(actor);
        await port.getRun(id);
        const lastEventId = Number(req.headers['last-event-id']);
        const after = Number.isSafeInteger(lastEventId) ? lastEventId : (q.after ?? 0);
        const stream = openEventStream(res);
        const stop = await port.followLogs(
          id,
          (lines) => {
            for (const l of lines) stream.send({ id: String(l.id), event: 'line', data: l });
          },
          { afterId: after },
        );
        stream.onClose(() => void stop());
      },
    },
    {
      method: 'GET',
      pattern: /^\/events\/runs$/,
      run: async ({ req, res, url, actor }) => {
        const port = portOf(actor);
        const withRun = url.searchParams.get('with') === 'run';
        const stream = openEventStream(res);
        const eventId = () => String(Date.now());
        // With ?with=run each change carries the run as read just after it (a
        // deploy-tui redraws from the event, no request of its own); if that read
        // fails, the change goes without it and the client asks as usual.
        const send = (change: RunChange) =>
          withRun
            ? void core.getRun(change.runId).then(
                (run) => stream.send({ id: eventId(), event: 'change', data: { ...change, run } }),
                () => stream.send({ id: eventId(), event: 'change', data: change }),
              )
            : stream.send({ id: eventId(), event: 'change', data: change });
        const stop = await port.followRuns(send, () =>
          stream.send({ id: eventId(), event: 'resync', data: {} }),
        );
        stream.onClose(() => void stop());
        const last = Number(req.headers['last-event-id']);
        if (Number.isSafeInteger(last) && last > 0) {
          // Catch up on what changed while the client was away (a little overlap:
          // a change seen twice is harmless, the client compares versions).
          for (const change of await core.runChangesSince(new Date(last - 2000))) send(change);
        }
      },
    },
  ];

  return async function handle(req: ApiRequest, res: ApiResponse): Promise<void> {
    const url = new URL(req.url, 'http://api.invalid');
    const path = url.pathname.slice(API_PREFIX.length) || '/';
    const method = req.method.toUpperCase();
    try {
      if (path === '/openapi.json' && method === 'GET') {
        return sendJson(res, 200, openApiDocument());
      }
      const matching = routes.filter((r) => r.pattern.test(path));
      if (matching.length === 0) {
        throw new HttpProblem(
          404,
          'not_found',
          `no such API path: ${url.pathname} (see ${API_PREFIX}/openapi.json)`,
        );
      }
      const route = matching.find((r) => r.method === method);
      if (!route) {
        throw new HttpProblem(405, 'method_not_allowed', `${method} is not allowed here`, {
          allow: matching.map((r) => r.method).join(', '),
        });
      }
      const params = route.pattern.exec(path)!.slice(1);
      if (route.public) {
        const nobody: TokenInfo = {
          id: '',
          userId: '',
          name: '',
          kind: 'personal',
          issuedBy: '',
          createdAt: '',
          expiresAt: '',
          lastUsedAt: null,
          revokedAt: null,
        };
        await route.run({
          req,
          res,
          params,
          url,
          actor: { id: '', via: 'api' },
          token: nobody,
          bearer: '',
          prefetched: undefined,
        });
        return;
      }
      const prefetch = route.prefetch;
      const read =
        prefetch === undefined || !/^Bearer\s+\S+$/i.test(req.headers.authorization ?? '')
          ? undefined
          : Promise.resolve().then(() => prefetch(params));
      // Nothing of the read reaches the client unless the token is accepted.
      read?.catch(() => {});
      const token = await authenticate(deps, req);
      const bearer = String(req.headers.authorization).replace(/^Bearer\s+/i, '');
      await route.run({
        req,
        res,
        params,
        url,
        actor: actorOf(token, req),
        token,
        bearer,
        prefetched: read === undefined ? undefined : await read,
      });
    } catch (error) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (error instanceof HttpProblem) {
        return sendJson(
          res,
          error.status,
          { code: error.code, message: error.message },
          error.headers,
        );
      }
      if (isRefusal(error)) {
        return sendJson(res, REFUSAL_STATUS[error.code] ?? 409, {
          code: error.code,
          message: error.message,
          details: error.details,
        });
      }
      deps.log('API request failed', { path: url.pathname, error: errorMessage(error) });
      return sendJson(res, 503, {
        code: 'unavailable',
        message: 'the server could not answer (its database may be unavailable): try again',
      });
    }
  };
}
