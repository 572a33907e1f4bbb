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

// ---- the run view's approval policy (responses; documented, not validated) ----

export const lockViewSchema = z
  .object({
    id: z.string(),
    scope: z.enum(['deployment', 'environment', 'all']),
    target: z
      .string()
      .nullable()
      .meta({ description: 'The deployment or environment; null for all' }),
    reason: z.string(),
    by: z.string().meta({ description: 'Who locked it' }),
    via: z.string(),
    at: z.string().meta({ description: 'When (ISO 8601)' }),
  })
  .meta({ description: 'An ad hoc lock: no apply or destroy is confirmed while it holds a run' });

const policyEntrySchema = z
  .object({
    count: z.number().int().meta({ description: 'Distinct people this entry needs' }),
    from: z
      .array(z.string())
      .meta({ description: 'Slack user ids (U…/W…) and user-group ids (S…)' }),
    notRequester: z.boolean().meta({ description: "The requester's approval does not count" }),
    notPlanApprovers: z
      .boolean()
      .meta({ description: "Apply only: the plan's approvers do not count" }),
    source: z
      .union([
        z.object({ kind: z.literal('deployment') }),
        z.object({ kind: z.literal('rule'), rule: z.string() }),
      ])
      .meta({
        description: "The deployment's `approvals:` (or approvers), or the rule that added it",
      }),
    satisfiedBy: z
      .array(z.string())
      .meta({ description: 'Who counted for this entry (user ids), in approval order' }),
    missing: z.number().int().meta({ description: 'How many more people it needs' }),
  })
  .meta({ description: 'One requirement entry of a decision: all entries must hold' });

const stageViewSchema = z.object({
  satisfied: z.boolean().meta({ description: 'Every entry holds (the run moved on)' }),
  entries: z.array(policyEntrySchema),
});

export const policyViewSchema = z
  .object({
    plan: stageViewSchema.meta({ description: 'What approving the plan needs, and who counted' }),
    apply: stageViewSchema.meta({
      description: 'What confirming the apply needs, and who counted',
    }),
    rules: z
      .array(
        z.object({
          name: z.string(),
          mode: z.enum(['enforce', 'warn', 'dry-run']),
          effect: z.enum(['require', 'deny']),
          matched: z.boolean(),
          message: z.string().nullable(),
          error: z.string().nullable(),
        }),
      )
      .meta({ description: 'The rules evaluated on the run and whether they matched' }),
    freeze: z
      .object({
        reason: z.string(),
        endsAt: z.string().meta({ description: 'When deploys are possible again (ISO 8601)' }),
        overrideFrom: z
          .array(z.string())
          .meta({ description: 'Who may confirm the apply anyway, with a reason (override.from)' }),
        overridden: z
          .object({ by: z.string(), reason: z.string(), at: z.string() })
          .nullable()
          .meta({ description: 'The apply was confirmed during the freeze: by whom, why, when' }),
        canOverride: z.boolean().optional().meta({
          description:
            'Whether the reader may override it (confirm_apply then stays in allowed; a reason is required); only on a run read for someone',
        }),
      })
      .nullable()
      .meta({
        description:
          'The freeze window in force before the apply (or the one the apply overrode), or null',
      }),
    locks: z.array(lockViewSchema).meta({ description: 'Locks holding the run' }),
  })
  .nullable()
  .meta({ description: "The approval policy's state (null when the run's config cannot give it)" });

export const approvalViewSchema = z.object({
  stage: z.enum(['plan', 'apply']),
  by: z.string(),
  via: z.string(),
  at: z.string(),
  planId: z.string(),
  note: z.string().nullable().optional(),
  entry: z
    .number()
    .int()
    .nullable()
    .optional()
    .meta({ description: 'Index into policy.<stage>.entries of the entry it counted for' }),
  overrideReason: z
    .string()
    .nullable()
    .optional()
    .meta({ description: 'The written reason of an apply confirmed during a freeze' }),
});

export const refusalSchema = z.object({
  code: z.string().meta({
    description:
      'What kind of refusal: not_approver, self_approval, already_approved, plan_approver, approval_not_needed, wrong_status, plan_changed, unauthorized, rate_limited, …',
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
