// The decisions a person takes on a run, as data: which ones a status offers
// comes from the status table, so the core's checks, the CLI's "next:" line,
// deploy-tui's keys and the Slack buttons all derive them from one place.

import { type RunStatus, STATUS_TABLE } from './statuses.ts';

export const DECISIONS = ['approve_plan', 'confirm_apply', 'cancel'] as const;
export type Decision = (typeof DECISIONS)[number];

/** The status a run must be in for each approval. */
export const DECISION_STATUS = {
  approve_plan: 'awaiting_plan_approval',
  confirm_apply: 'awaiting_apply_approval',
} as const satisfies Partial<Record<Decision, RunStatus>>;

/** What the status offers anyone, before the policy says who. */
export function decisionsAt(status: RunStatus): Decision[] {
  const out: Decision[] = [];
  if (status === DECISION_STATUS.approve_plan) out.push('approve_plan');
  if (status === DECISION_STATUS.confirm_apply) out.push('confirm_apply');
  if (STATUS_TABLE[status].cancellable) out.push('cancel');
  return out;
}
