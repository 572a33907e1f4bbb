// `approvals:` of a deployment: per decision (plan, apply) one requirement entry
// or a list of entries that must all hold. Defaults that depend on the
// deployment (`from`, `notRequester`) stay unset here and are filled in where
// the requirements are used (src/core/policy/evaluate.ts), from the same
// config snapshot.

import { z } from 'zod';

export const slackId = z
  .string()
  .regex(/^[USW][A-Z0-9]{2,}$/, 'expected a Slack user id (U…/W…) or user-group id (S…)');

export const approvalEntrySchema = z.strictObject({
  /** Distinct people needed. */
  count: z.number().int().min(1, 'count is at least 1').max(100, 'count is at most 100').default(1),
  /** Users and user groups; default: the deployment's approvers. */
  from: z.array(slackId).min(1, 'from lists at least one user or user group').optional(),
  /** Default: not allowSelfApproval. */
  notRequester: z.boolean().optional(),
  /** Apply only: the plan's approvers do not count. */
  notPlanApprovers: z.boolean().default(false),
});
export type ApprovalEntryConfig = z.output<typeof approvalEntrySchema>;

/** One entry or a list of them; always a list once loaded. */
const stageSchema = z.preprocess(
  (value) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? [value] : value,
  z.array(approvalEntrySchema).min(1, 'give at least one requirement entry'),
);

export const approvalsSchema = z.strictObject({
  plan: stageSchema.optional(),
  apply: stageSchema.optional(),
});
export type ApprovalsConfig = z.output<typeof approvalsSchema>;

type Issue = { readonly path: (string | number)[]; readonly message: string };

/** What the schema alone cannot check: counts no `from` can give, notPlanApprovers on the plan. */
export function approvalsProblems(
  approvers: readonly string[],
  approvals: ApprovalsConfig | undefined,
): Issue[] {
  const issues: Issue[] = [];
  for (const stage of ['plan', 'apply'] as const) {
    approvals?.[stage]?.forEach((entry, i) => {
      const from = entry.from ?? approvers;
      if (!from.some((id) => id.startsWith('S'))) {
        const people = new Set(from).size;
        if (entry.count > people)
          issues.push({
            path: ['approvals', stage, i, 'count'],
            message: `count ${entry.count} cannot be met: from lists only ${people} ${people === 1 ? 'person' : 'people'} (${[...new Set(from)].join(', ')})`,
          });
      }
      if (stage === 'plan' && entry.notPlanApprovers)
        issues.push({
          path: ['approvals', stage, i, 'notPlanApprovers'],
          message: 'notPlanApprovers applies to the apply only',
        });
    });
  }
  return issues;
}
