// The decisions a person takes on a run (approve the plan, confirm the apply,
// cancel): each in one transaction with the run row locked, checked by the
// policy (lifecycle/policy.ts), counted and logged with its result.

import type { Deployment } from '../config/load.ts';
import { approvalTimeoutText, expireApproval } from '../engine/approval-expiry.ts';
import { errorMessage, isRefusal, Refusal } from '../errors.ts';
import { DECISION_STATUS } from '../lifecycle/decisions.ts';
import {
  type ApprovalDecision,
  checkApprovalDecision,
  checkDecision,
  type DecisionSubject,
} from '../lifecycle/policy.ts';
import { changeStatusFor, type RunStatus, STATUS_TABLE } from '../lifecycle/statuses.ts';
import { processLog } from '../logs/logger.ts';
import { countDecision, type DecisionName } from '../metrics/totals.ts';
import { checkHolds, overrideAudit, recordOverride } from '../policy/holds.ts';
import { NO_RULES, type RulesOutcome } from '../policy/rules.ts';
import { enforceRules, recordRefusedEvaluation } from '../policy/run-rules.ts';
import type { Queue } from '../queue/boss.ts';
import { approvalDeadlineIsPast } from '../store/claims.ts';
import type { Db, Tx } from '../store/database.ts';
import { approvalsOfRun, insertApproval, planById, reassignApprovals } from '../store/plans.ts';
import { lockRunRow, noSuchRun, type RunRow, touchRun } from '../store/runs.ts';
import { lockDeployment, slotHolder } from '../store/slots.ts';
import { type TransitionInput, transition } from '../store/transition.ts';
import { cleanPersonText } from '../text/person-text.ts';
import { loadRunViews, toRunView } from '../views/runs.ts';
import type { Actor, GroupMembership, RunView } from './types.ts';

/** What a decision needs of the core: its database, queue, group resolver and log. */
export type DecisionContext = {
  readonly db: Db;
  readonly queue: Queue;
  readonly groups: GroupMembership | undefined;
  readonly log: (line: string) => void;
};

export type ActOptions = {
  /** The plan the person saw: refused when the run has another plan now. */
  readonly planId?: string | undefined;
  readonly reason?: string | undefined;
  /** A note stored with an approval ("Approve with a note"): shown with it everywhere. */
  readonly note?: string | undefined;
  /**
   * Confirming an apply during a freeze: why (required of someone in the
   * deployment's `override.from`; stored, shown and audited). Ignored when no
   * freeze is in force.
   */
  readonly overrideReason?: string | undefined;
};

/** An approval as the policy reads it. */
export type ApprovalFacts = {
  readonly stage: string;
  readonly actor: string;
  readonly entry: number | null;
};

/**
 * What the policy checks a decision against: the run's own config snapshot,
 * requester and approvals of its current plan (in approval order).
 */
export function decisionSubject(
  row: RunRow,
  approvals: readonly ApprovalFacts[],
  rules: RulesOutcome = NO_RULES,
): DecisionSubject {
  const of = (stage: string) =>
    approvals.filter((a) => a.stage === stage).map((a) => ({ actor: a.actor, entry: a.entry }));
  return {
    deployment: row.config as Deployment,
    requestedBy: row.requestedBy,
    kind: row.kind,
    approvals: { plan: of('plan'), apply: of('apply') },
    // Rules on the run and its plan: their extra requirements and denials.
    rules,
  };
}

/** The apply is of the plan that was approved: every plan approval is of this plan and its artifacts. */
function checkPlanApprovals(
  approvals: readonly { stage: string; planId: string; artifactHash: string }[],
  plan: { id: string; artifactHash: string },
): void {
  const ofPlan = approvals.filter((a) => a.stage === 'plan');
  if (
    ofPlan.length === 0 ||
    ofPlan.some((a) => a.planId !== plan.id || a.artifactHash !== plan.artifactHash)
  ) {
    throw new Refusal(
      'plan_changed',
      'the plan changed after it was approved: nothing was applied; run the deployment again',
    );
  }
}

/** Locks the run row and checks it is in `status` and on the plan the person saw. */
async function lockForDecision(
  tx: Tx,
  runId: string,
  status: RunStatus,
  options: ActOptions,
): Promise<RunRow> {
  const row = await lockRunRow(tx, runId);
  if (!row) {
    throw noSuchRun(runId);
  }
  if (row.status !== status) {
    const now = STATUS_TABLE[row.status].label.toLowerCase();
    throw new Refusal('wrong_status', `this run is now ${now}`, { status: row.status, runId });
  }
  if (options.planId !== undefined && options.planId !== row.planId) {
    throw new Refusal(
      'plan_changed',
      `this run has a new plan (${row.planId}) since the one you saw (${options.planId}): review it first`,
      { planId: row.planId },
    );
  }
  return row;
}

/**
 * Decides on a run waiting for an approval, in one transaction with the row
 * locked. Past the approval deadline nothing is decided: the run is cancelled
 * ("approval expired", as the workers' sweep would) and the person is told.
 */
async function decide(
  ctx: DecisionContext,
  runId: string,
  status: RunStatus,
  options: ActOptions,
  act: (tx: Tx, row: RunRow) => Promise<RunView>,
): Promise<RunView> {
  const outcome = await ctx.db.transaction(async (tx) => {
    const row = await lockForDecision(tx, runId, status, options);
    if (await approvalDeadlineIsPast(tx, row.id)) {
      await expireApproval(tx, ctx.queue, row);
      return { expired: true, row } as const;
    }
    return { expired: false, view: await act(tx, row) } as const;
  });
  if (outcome.expired) {
    const row = outcome.row;
    throw new Refusal(
      'approval_expired',
      `approval expired: run ${row.id} waited longer than ${approvalTimeoutText(row)} (approvalTimeout of ${row.deployment}) for this approval, so it is cancelled and nothing was changed. Run the deployment again`,
      { runId: row.id, status: 'cancelled' },
    );
  }
  return outcome.view;
}

export function approvePlan(
  ctx: DecisionContext,
  runId: string,
  actor: Actor,
  options: ActOptions = {},
): Promise<RunView> {
  return approve(ctx, 'approve_plan', runId, actor, options);
}

export function confirmApply(
  ctx: DecisionContext,
  runId: string,
  actor: Actor,
  options: ActOptions = {},
): Promise<RunView> {
  return approve(ctx, 'confirm_apply', runId, actor, options);
}

/**
 * An approval of the plan or of the apply, with the run row locked: checked
 * against the stage's requirements and the approvals so far, stored with the
 * entry it counts for; the run moves once, when the requirements hold.
 */
function approve(
  ctx: DecisionContext,
  decision: ApprovalDecision,
  runId: string,
  actor: Actor,
  options: ActOptions,
): Promise<RunView> {
  const stage = decision === 'approve_plan' ? 'plan' : 'apply';
  return counted(ctx, decision, runId, actor, () =>
    decide(ctx, runId, DECISION_STATUS[decision], options, async (tx, row) => {
      const plan = await requirePlan(tx, row);
      const all = await approvalsOfRun(tx, runId);
      const current = all.filter((a) => a.planId === plan.id);
      const rules = await enforceRules(tx, row, plan, current, decision, actor);
      const counts = await checkApprovalDecision(
        decision,
        decisionSubject(row, current, rules.outcome),
        actor,
        ctx.groups,
      );
      if (stage === 'apply') checkPlanApprovals(all, plan);
      if (stage === 'apply' && counts.satisfied) await checkSlotFree(tx, row);
      // Freezes and locks hold every apply approval (holds.ts).
      const override =
        stage === 'apply'
          ? await checkHolds(tx, row, actor, ctx.groups, options.overrideReason)
          : null;
      const note = cleanPersonText(options.note);
      const inserted = {
        ...(await insertApproval(tx, runId, stage, plan, actor, note, counts.entry, rules.audit)),
        overrideReason: override?.reason ?? null,
      };
      await recordOverride(tx, runId, actor, override);
      const moves = current
        .filter((a) => a.stage === stage && counts.assignment.get(a.actor) !== a.entry)
        .map((a) => ({ actor: a.actor, entry: counts.assignment.get(a.actor) ?? null }));
      await reassignApprovals(tx, runId, stage, moves);
      const approvals = [
        ...current.map((a) =>
          a.stage === stage ? { ...a, entry: counts.assignment.get(a.actor) ?? null } : a,
        ),
        inserted,
      ];
      if (!counts.satisfied) {
        // Stored and shown ("1 of 2"); the run waits for the rest.
        const touched = await touchRun(tx, runId);
        return toRunView(touched, { plan, approvals, queue: null, rules: rules.after });
      }
      const by = approvals.filter((a) => a.stage === stage).map((a) => a.actor);
      const what =
        stage === 'plan'
          ? 'plan approved'
          : `${row.kind === 'destroy' ? 'destroy' : 'apply'} confirmed`;
      const moved = await move(
        ctx,
        tx,
        row,
        stage === 'plan' ? 'awaiting_apply_approval' : changeStatusFor(row.kind),
        actor,
        `${what} by ${by.join(', ')}${overrideAudit(override)}${note !== null ? `: ${note}` : ''}`,
      );
      return toRunView(moved, { plan, approvals, queue: null, rules: rules.after });
    }),
  );
}

/** The apply takes the deployment's slot: refused while another run of it holds the slot. */
async function checkSlotFree(tx: Tx, row: RunRow): Promise<void> {
  await lockDeployment(tx, row.deployment);
  const holder = await slotHolder(tx, row.deployment);
  if (holder) {
    throw new Refusal(
      'deployment_busy',
      `${row.deployment} is busy: ${holder.id} is ${STATUS_TABLE[holder.status].label.toLowerCase()}. Confirm the apply again when it finishes; your plan stays valid unless that run applies`,
      { behind: holder.id, runId: row.id },
    );
  }
}

export async function cancelRun(
  ctx: DecisionContext,
  runId: string,
  actor: Actor,
  options: ActOptions = {},
): Promise<RunView> {
  return counted(ctx, 'cancel', runId, actor, () =>
    ctx.db.transaction(async (tx) => {
      const row = await lockRunRow(tx, runId);
      if (!row) throw noSuchRun(runId);
      const status = row.status;
      if (!STATUS_TABLE[status].cancellable) {
        const label = STATUS_TABLE[status].label.toLowerCase();
        throw new Refusal(
          STATUS_TABLE[status].next.length === 0 ? 'wrong_status' : 'not_cancellable',
          STATUS_TABLE[status].next.length === 0
            ? `this run is already ${label}`
            : `this run is ${label} and cannot be cancelled: the changes are in progress. Wait for it to finish`,
          { status },
        );
      }
      await checkDecision('cancel', decisionSubject(row, []), actor, ctx.groups);
      const reason =
        options.reason?.replaceAll('\0', '').toWellFormed().trim().slice(0, 2000) ||
        'cancelled by request';
      const moved = await move(ctx, tx, row, 'cancelled', actor, reason, {
        cancelledBy: actor.id,
        cancelReason: reason,
      });
      const [view] = await loadRunViews(tx, [moved]);
      return view!;
    }),
  );
}

/** Logs and counts the decision (accepted, or refused with its code) in the shared totals. */
async function counted<T>(
  ctx: DecisionContext,
  decision: DecisionName,
  runId: string,
  actor: Actor,
  act: () => Promise<T>,
): Promise<T> {
  const line = { runId, decision, actor: actor.id, via: actor.via };
  let result: T;
  try {
    result = await act();
  } catch (error) {
    if (isRefusal(error)) {
      await recordRefusedEvaluation(ctx.db, error);
      processLog().info('decision refused', { ...line, code: error.code, result: 'refused' });
      await countDecisionQuietly(ctx, decision, 'refused', error.code);
    }
    throw error;
  }
  processLog().info('decision', { ...line, code: 'ok', result: 'accepted' });
  await countDecisionQuietly(ctx, decision, 'accepted', 'ok');
  return result;
}

async function countDecisionQuietly(
  ctx: DecisionContext,
  decision: DecisionName,
  result: 'accepted' | 'refused',
  code: string,
) {
  try {
    await countDecision(ctx.db, decision, result, code);
  } catch (error) {
    ctx.log(`could not count a decision for the metrics: ${errorMessage(error)}`);
  }
}

async function requirePlan(tx: Tx, row: RunRow) {
  const plan = row.planId ? await planById(tx, row.planId) : null;
  if (!plan) throw new Error(`run ${row.id} is waiting for approval without a plan`);
  return plan;
}

async function move(
  ctx: DecisionContext,
  tx: Tx,
  row: RunRow,
  to: RunStatus,
  actor: Actor,
  reason: string,
  patch: TransitionInput['patch'] = {},
) {
  const outcome = await transition(tx, ctx.queue, {
    runId: row.id,
    kind: row.kind,
    from: row.status,
    to,
    actor,
    reason,
    patch,
  });
  if (!outcome.ok)
    throw new Refusal('wrong_status', outcome.reason, { status: outcome.run?.status });
  return outcome.run;
}
