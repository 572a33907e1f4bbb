// The API's requests as zod schemas: they validate every request and make the
// OpenAPI document (openapi.ts), so the two cannot disagree.

import { z } from 'zod';
import { statusFilter } from '../../core/lifecycle/status-filter.ts';
import { RUN_KINDS, STATUS_GROUPS } from '../../core/lifecycle/statuses.ts';
import { parseLockTarget } from '../../core/policy/lock-target.ts';

export const runIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'a run id looks like run-7k2m9x4p')
  .meta({ description: 'A run id (run-…)' });

export const runRequestSchema = z
  .object({
    deployment: z.string().min(1).max(200).meta({ description: 'The deployment name' }),
    kind: z
      .enum(RUN_KINDS)
      .default('execute')
      .meta({ description: 'execute (plan, then apply) or destroy' }),
    variables: z.record(z.string(), z.string().max(10_000)).default({}).meta({
      description: 'Variable values as typed (`key=value`); validated against the deployment',
    }),
  })
  .strict();

export const decisionSchema = z
  .object({
    planId: z.string().max(100).optional().meta({
      description:
        'The plan the person saw: refused (409 plan_changed) when the run has another plan now',
    }),
  })
  .strict();

export const applySchema = decisionSchema
  .extend({
    overrideReason: z.string().max(2000).optional().meta({
      description:
        "During a freeze: why the apply goes ahead anyway (required of someone in the deployment's override.from; stored, shown and audited). Without it, a freeze refuses (409 frozen)",
    }),
  })
  .strict();

const lockTargetSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((t) => parseLockTarget(t) !== null, 'expected a deployment name, env:ENVIRONMENT or all')
  .meta({ description: 'What to lock: a deployment name, env:ENVIRONMENT, or all' });

export const lockSchema = z
  .object({
    target: lockTargetSchema,
    reason: z
      .string()
      .max(2000)
      .meta({ description: 'Why (required): shown on every run it holds' }),
  })
  .strict();

export const unlockSchema = z.object({ target: lockTargetSchema }).strict();

export const cancelSchema = z
  .object({
    reason: z.string().max(2000).optional().meta({ description: 'Why (shown in the audit)' }),
  })
  .strict();

const statusParam = statusFilter.meta({
  description: `A group (${Object.keys(STATUS_GROUPS).join(', ')}) or statuses, comma-separated`,
});

export const listRunsQuery = z
  .object({
    deployment: z.string().min(1).max(200).optional(),
    environment: z.string().min(1).max(200).optional(),
    status: statusParam.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: runIdSchema
      .optional()
      .meta({ description: 'The `next` of the previous page: older runs' }),
  })
  .strict();

export const logsQuery = z
  .object({
    after: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Lines after this line id (`next` of the previous page)' }),
    before: z.coerce
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Lines before this line id (paging back), oldest first' }),
    tail: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .meta({ description: 'Only the last N lines' }),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

export const followLogsQuery = z
  .object({
    after: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'Start after this line id (Last-Event-ID wins when given)' }),
  })
  .strict();

export const loginStartSchema = z
  .object({
    verifierHash: z
      .string()
      .regex(
        /^[0-9a-f]{64}$/,
        'verifierHash must be the sha256 (hex) of a secret the client keeps',
      ),
    clientHost: z
      .string()
      .min(1)
      .max(200)
      .meta({ description: 'The client machine, shown in Slack' }),
  })
  .strict();

export const loginCollectSchema = z
  .object({
    code: z.string().min(1).max(20),
    verifier: z
      .string()
      .min(32)
      .max(200)
      .meta({ description: 'The secret whose sha256 was sent at start' }),
  })
  .strict();

export const refusalSchema = z.object({
  code: z.string().meta({
    description:
      'What kind of refusal: not_approver, self_approval, wrong_status, plan_changed, unauthorized, rate_limited, …',
  }),
  message: z.string().meta({ description: 'The sentence the person sees' }),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** `zod`'s issues as one sentence per problem. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}
