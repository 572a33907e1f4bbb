// The OpenAPI 3.1 document of /api/v1, made from the zod schemas that validate
// the requests (z.toJSONSchema), so it says what the server actually accepts.

import { z } from 'zod';
import {
  applySchema,
  approvalViewSchema,
  cancelSchema,
  decisionSchema,
  followLogsQuery,
  listRunsQuery,
  lockSchema,
  loginCollectSchema,
  loginStartSchema,
  logsQuery,
  policyViewSchema,
  refusalSchema,
  runIdSchema,
  runRequestSchema,
  unlockSchema,
} from './schemas.ts';

type JsonSchema = Record<string, unknown>;

/** A schema object for OpenAPI 3.1 (JSON Schema 2020-12, without its `$schema` line). */
function json(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

function queryParameters(schema: z.ZodObject): JsonSchema[] {
  const full = json(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(full.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: (full.required ?? []).includes(name),
    description: property.description,
    schema: property,
  }));
}

const runIdParameter = {
  name: 'id',
  in: 'path',
  required: true,
  schema: json(runIdSchema),
};

const refusal = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Refusal' } } },
});

const RUN = {
  description: 'The run, the same object as `deploy-bot status --json` prints',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Run' } } },
};

const COMMON = {
  '401': refusal('No token, or an unknown, expired or revoked one: run `deploy-bot login`'),
  '429': refusal('Too many failed sign-ins from this address (Retry-After says how long to wait)'),
};

const body = (schema: z.ZodType) => ({
  required: false,
  content: { 'application/json': { schema: json(schema) } },
});

const events = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: { type: 'string' } } },
});

let cached: JsonSchema | undefined;

export function openApiDocument(): JsonSchema {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'deploy-bot API',
      version: '1',
      description:
        "The core port over HTTP. Every path but this document needs `Authorization: Bearer <token>` (deploy-bot login, or deploy-bot token create). The token acts only as its user, under the same policy as Slack. Refusals are 403 (policy) or 409 (the run's state) with {code, message}.",
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Refusal: json(refusalSchema),
        Run: {
          type: 'object',
          description:
            'A run as `deploy-bot status --json` prints it: id, deployment, environment, kind, status, plan, approvals, configVersion, version, … (README, "CLI")',
          required: ['id', 'deployment', 'status', 'version'],
          properties: {
            approvals: { type: 'array', items: json(approvalViewSchema) },
            policy: json(policyViewSchema),
          },
          additionalProperties: true,
        },
      },
    },
    paths: {
      '/login/start': {
        post: {
          summary:
            'Start a sign-in: a one-time code to type in Slack (`/deploy login CODE`), valid 10 minutes',
          security: [],
          requestBody: { ...body(loginStartSchema), required: true },
          responses: { '201': { description: '{code, expiresAt, type}' } },
        },
      },
      '/login/collect': {
        post: {
          summary:
            'Collect the token once the code was typed in Slack (only with the secret of the start)',
          security: [],
          requestBody: { ...body(loginCollectSchema), required: true },
          responses: {
            '200': { description: '{token, user, tokenId, expiresAt}: shown once' },
            '202': { description: 'Not typed in Slack yet: ask again' },
            '404': refusal('No sign-in waits for this code and secret'),
            '410': refusal('The code expired'),
            '429': COMMON['429'],
          },
        },
      },
      '/logout': {
        post: {
          summary: 'Revoke the token of this request',
          responses: { '200': { description: '{revoked}' }, ...COMMON },
        },
      },
      '/me': {
        get: {
          summary: 'Who this token acts as',
          responses: { '200': { description: 'The user and the token' }, ...COMMON },
        },
      },
      '/deployments': {
        get: {
          summary: 'The deployments of the published config and their state',
          responses: { '200': { description: '{items}' }, ...COMMON },
        },
      },
      '/runs': {
        get: {
          summary: 'Runs, newest first; `next` is the `before` of the next page',
          parameters: queryParameters(listRunsQuery),
          responses: { '200': { description: '{items, next}' }, ...COMMON },
        },
        post: {
          summary: 'Request a run (plan first; it waits for two approvals)',
          requestBody: { ...body(runRequestSchema), required: true },
          responses: {
            '201': RUN,
            '403': refusal('Not allowed (channel rule, identity)'),
            '404': refusal('No such deployment'),
            '422': refusal('Invalid variables'),
            ...COMMON,
          },
        },
      },
      '/runs/{id}': {
        get: {
          summary: 'A run',
          parameters: [runIdParameter],
          responses: { '200': RUN, '404': refusal('No such run'), ...COMMON },
        },
      },
      '/runs/{id}/approve': {
        post: {
          summary: 'Approve the plan (first approval)',
          parameters: [runIdParameter],
          requestBody: body(decisionSchema),
          responses: {
            '200': RUN,
            '403': refusal('Not an approver, or your own run'),
            '409': refusal('The run is not awaiting this, or the plan changed'),
            ...COMMON,
          },
        },
      },
      '/runs/{id}/apply': {
        post: {
          summary: 'Confirm the apply (second approval): changes start',
          parameters: [runIdParameter],
          requestBody: body(applySchema),
          responses: {
            '200': RUN,
            '403': refusal('Not an approver, or your own run'),
            '409': refusal(
              'The run is not awaiting this, the plan changed, the deployment is busy, frozen (details: reason, endsAt, overrideFrom, canOverride) or locked (details: lockId, scope, target, reason, by, at)',
            ),
            ...COMMON,
          },
        },
      },
      '/runs/{id}/cancel': {
        post: {
          summary: 'Cancel a run that has not started changing anything',
          parameters: [runIdParameter],
          requestBody: body(cancelSchema),
          responses: {
            '200': RUN,
            '403': refusal('Neither the requester nor an approver'),
            '409': refusal('Not cancellable now'),
            ...COMMON,
          },
        },
      },
      '/locks': {
        get: {
          summary: 'The locks in force, oldest first',
          responses: {
            '200': { description: '{items}: id, scope, target, reason, by, via, at' },
            ...COMMON,
          },
        },
        post: {
          summary:
            'Lock a deployment, an environment or all: runs may plan, no apply or destroy is confirmed until unlocked',
          requestBody: { ...body(lockSchema), required: true },
          responses: {
            '201': { description: 'The lock: id, scope, target, reason, by, via, at' },
            '403': refusal('Not allowed to lock it (locks.from, default its approvers)'),
            '404': refusal('No such deployment or environment'),
            '409': refusal('Already locked'),
            '422': refusal('No reason given'),
            ...COMMON,
          },
        },
      },
      '/locks/unlock': {
        post: {
          summary: 'Lift the lock on a deployment, an environment or all',
          requestBody: { ...body(unlockSchema), required: true },
          responses: {
            '200': { description: 'The lock as it was' },
            '403': refusal('Not allowed to unlock it'),
            '409': refusal('Not locked'),
            ...COMMON,
          },
        },
      },
      '/runs/{id}/audit': {
        get: {
          summary:
            'Every status change (who, via, credential, when, why) and every evaluation of the run’s rules (config version, rules matched, result)',
          parameters: [runIdParameter],
          responses: { '200': { description: '{items, evaluations}' }, ...COMMON },
        },
      },
      '/runs/{id}/logs': {
        get: {
          summary: 'Log lines (sensitive values redacted); `next` is the `after` of the next page',
          parameters: [runIdParameter, ...queryParameters(logsQuery)],
          responses: { '200': { description: '{items, next}' }, ...COMMON },
        },
      },
      '/runs/{id}/logs/count': {
        get: {
          summary: 'How many log lines the run has',
          parameters: [runIdParameter],
          responses: { '200': { description: '{count}' }, ...COMMON },
        },
      },
      '/runs/{id}/logs/stream': {
        get: {
          summary:
            'The log, live: one `line` event per line, its id the line id; resumes after Last-Event-ID',
          parameters: [runIdParameter, ...queryParameters(followLogsQuery)],
          responses: { '200': events('`event: line`, `data`: a log line as JSON'), ...COMMON },
        },
      },
      '/events/runs': {
        get: {
          summary:
            'Every change of every run, live; with Last-Event-ID, the changes since then first',
          parameters: [
            {
              name: 'with',
              in: 'query',
              required: false,
              description: '`run`: each change also carries `run`, the run as read just after it',
              schema: { type: 'string', enum: ['run'] },
            },
          ],
          responses: {
            '200': events(
              '`event: change` (runId, version, status, deployment; run with ?with=run), `event: resync`',
            ),
            ...COMMON,
          },
        },
      },
    },
  };
  return cached;
}
