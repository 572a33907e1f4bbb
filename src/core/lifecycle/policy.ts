// Who may do what. Pure decisions over the deployment's config; group
// membership comes from a resolver the Slack bot provides.

import type { Actor, GroupMembership } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { isRefusal, Refusal } from '../errors.ts';
import { type ApprovalSubject, checkApproval } from '../policy/approval.ts';
import type { ApprovalCounts } from '../policy/evaluate.ts';
import { isSystemActor } from '../text/plan.ts';
import { type Decision, decisionsAt } from './decisions.ts';
import type { RunKind, RunStatus } from './statuses.ts';

const mention = (id: string) => (id.startsWith('S') ? `members of ${id}` : id);

/** `U0ALICE, members of S0SRE`. */
export function describeIds(ids: readonly string[]): string {
  return ids.map(mention).join(', ');
}

export function describeApprovers(deployment: Deployment): string {
  return describeIds(deployment.approvers);
}

export function checkIdentity(actor: Actor): void {
  if (!actor.id || isSystemActor(actor.id)) {
    throw new Refusal('no_identity', 'who are you? No Slack user id was given');
  }
}

/** The channel rule: a deployment limited to channels can only be used from them in Slack. */
export function checkChannel(deployment: Deployment, actor: Actor): void {
  if (actor.via !== 'slack' || !deployment.channels) return;
  if (!actor.channel || !deployment.channels.includes(actor.channel)) {
    // The channels as data: the bot shows them as links (the core writes no Slack markup).
    throw new Refusal('channel_not_allowed', `${deployment.name} cannot be run from this channel`, {
      channels: deployment.channels,
    });
  }
}

export function isApprover(
  deployment: Deployment,
  userId: string,
  groups: GroupMembership | undefined,
): Promise<boolean> {
  return isListed(deployment.approvers, userId, groups);
}

/** Whether a user is one of `ids` (users, or members of listed user groups). */
export async function isListed(
  ids: readonly string[],
  userId: string,
  groups: GroupMembership | undefined,
): Promise<boolean> {
  if (ids.includes(userId)) return true;
  // A group that cannot be asked does not count either way: another may confirm
  // the person; if none does, the first "could not confirm" is the answer.
  let unconfirmed: unknown = null;
  for (const id of ids) {
    if (!id.startsWith('S') || !groups) continue;
    try {
      if (await groups.isMember(userId, id)) return true;
    } catch (error) {
      unconfirmed ??= error;
    }
  }
  if (unconfirmed !== null) throw unconfirmed;
  return false;
}

/** The requester or any approver may cancel. */
export async function checkCanCancel(
  deployment: Deployment,
  requestedBy: string,
  actor: Actor,
  groups: GroupMembership | undefined,
): Promise<void> {
  if (isSystemActor(actor.id)) return;
  checkIdentity(actor);
  if (actor.id === requestedBy) return;
  if (await isApprover(deployment, actor.id, groups)) return;
  throw new Refusal(
    'not_approver',
    `only the requester (${requestedBy}) or an approver of ${deployment.name} (${describeApprovers(deployment)}) can cancel this run`,
  );
}

/**
 * What a decision is checked against: the run's own config snapshot and
 * requester, the approvals so far (of its current plan) and the rules' outcome.
 */
export type DecisionSubject = ApprovalSubject & {
  readonly deployment: Deployment;
  readonly kind: RunKind;
};

export type ApprovalDecision = Exclude<Decision, 'cancel'>;

/** An approval of the plan or the apply by one person: how it counts, or the Refusal that says why not. */
export async function checkApprovalDecision(
  decision: ApprovalDecision,
  subject: DecisionSubject,
  actor: Actor,
  groups: GroupMembership | undefined,
): Promise<ApprovalCounts> {
  checkIdentity(actor);
  checkChannel(subject.deployment, actor);
  const stage = decision === 'approve_plan' ? 'plan' : 'apply';
  return checkApproval(stage, subject, actor, groups, subject.kind === 'destroy');
}

/** The policy's check of one decision by one person; throws the Refusal that says why not. */
export async function checkDecision(
  decision: Decision,
  subject: DecisionSubject,
  actor: Actor,
  groups: GroupMembership | undefined,
): Promise<void> {
  if (decision === 'cancel')
    return checkCanCancel(subject.deployment, subject.requestedBy, actor, groups);
  await checkApprovalDecision(decision, subject, actor, groups);
}

/**
 * The decisions `actor` may take on a run now: those its status offers that the
 * policy allows them. The same check the core runs when they decide.
 */
export async function allowedDecisions(
  status: RunStatus,
  subject: DecisionSubject,
  actor: Actor,
  groups: GroupMembership | undefined,
): Promise<Decision[]> {
  const allowed: Decision[] = [];
  for (const decision of decisionsAt(status)) {
    try {
      await checkDecision(decision, subject, actor, groups);
      allowed.push(decision);
    } catch (error) {
      // A refusal is the answer "not now, not you"; anything else is a failure.
      if (!isRefusal(error)) throw error;
    }
  }
  return allowed;
}
