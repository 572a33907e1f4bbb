// Health, readiness and the JSON API beside the Slack endpoint.
//   GET /healthz                 the process is up
//   GET /readyz                  the database answers (503 otherwise)
//   GET /api/runs/:id            a run, as `deploy-bot status --json` prints it
//   GET /api/runs?deployment=&status=&limit=   runs, newest first
//   GET /metrics                 Prometheus text (src/core/metrics)
// The API needs `Authorization: Bearer $DEPLOY_API_TOKEN`; without a token
// configured it is off.

import { z } from 'zod';
import { isRefusal } from '../../core/errors.ts';
import { statusFilter } from '../../core/lifecycle/status-filter.ts';
import type { Log } from '../log.ts';
import type { BotPort } from '../port.ts';
import type { Route, RouteRequest } from './receiver.ts';
import { safeEqual } from './verify.ts';

export type RouteDeps = {
  readonly core: BotPort;
  readonly apiToken: string | undefined;
  readonly log: Log;
  /** Extra readiness facts (e.g. the Slack connection). */
  readonly ready?: () => Record<string, unknown>;
};

const statusParam = statusFilter.optional();

const listQuery = z.object({
  deployment: z.string().min(1).max(200).optional(),
  environment: z.string().min(1).max(200).optional(),
  status: statusParam,
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const runIdParam = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/);

function unauthorized() {
  return {
    status: 401,
    body: { error: 'a bearer token is required: Authorization: Bearer $DEPLOY_API_TOKEN' },
    headers: { 'www-authenticate': 'Bearer realm="deploy-bot"' },
  };
}

function authorized(req: RouteRequest, token: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  return safeEqual(header.slice('Bearer '.length).trim(), token);
}

export function botRoutes(deps: RouteDeps): Route[] {
  const started = Date.now();
  const api = async (req: RouteRequest, url: URL) => {
    if (deps.apiToken === undefined) {
      return { status: 404, body: { error: 'the API is off: set DEPLOY_API_TOKEN to turn it on' } };
    }
    if (!authorized(req, deps.apiToken)) return unauthorized();
    const rest = url.pathname.slice('/api/runs'.length).replace(/^\//, '');
    try {
      if (rest !== '') {
        const id = runIdParam.safeParse(decodeURIComponent(rest));
        if (!id.success) return { status: 400, body: { error: 'not a run id' } };
        return { status: 200, body: await deps.core.getRun(id.data) };
      }
      const query = listQuery.safeParse(Object.fromEntries(url.searchParams));
      if (!query.success) {
        return {
          status: 400,
          body: {
            error: query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
          },
        };
      }
      const runs = await deps.core.listRuns({
        deployment: query.data.deployment,
        environment: query.data.environment,
        statuses: query.data.status,
        limit: query.data.limit,
      });
      return { status: 200, body: runs };
    } catch (error) {
      if (isRefusal(error) && error.code === 'unknown_run') {
        return { status: 404, body: { error: error.message } };
      }
      deps.log.error('API request failed', { error, path: url.pathname });
      return { status: 503, body: { error: 'the database is unavailable; try again' } };
    }
  };
  return [
    {
      method: 'GET',
      path: '/healthz',
      handler: async () => ({
        status: 200,
        body: { ok: true, uptimeSeconds: Math.round((Date.now() - started) / 1000) },
      }),
    },
    {
      method: 'GET',
      path: '/readyz',
      handler: async () => {
        const database = await deps.core.ping(2000);
        const extra = deps.ready?.() ?? {};
        return {
          status: database ? 200 : 503,
          body: { ok: database, database: database ? 'ok' : 'unavailable', ...extra },
        };
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async () => {
        const metrics = await deps.core.metrics();
        return {
          status: 200,
          body: metrics.text,
          headers: { 'content-type': metrics.contentType },
        };
      },
    },
    { method: 'GET', path: '/api/runs', handler: api },
    { method: 'GET', path: '/api/runs/', handler: api },
  ];
}
