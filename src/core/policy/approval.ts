// The check of one approval (plan or apply) by one person: their group
// memberships resolved, the stage's requirements evaluated with the approvals
// so far, and a Refusal with the code, the details and a plain sentence when
// it would not count. The core runs it in the decision's transaction; the run
// view's `allowed` runs the same.

import type { Actor, GroupMembership } from '../api/types.ts';
import { Refusal } from '../errors.ts';
import {
  type ApprovalCounts,
  type ApprovalPolicy,
  type ApprovalRefusal,
  groupsNamed,
  judgeApproval,
  type StageName,
  type StoredApproval,
  stageEntries,
  storedApprover,
} from './evaluate.ts';
import type { DecisionContext } from './requirements.ts';
import type { RulesOutcome } from './rules.ts';

/** What an approval is checked against: the run's config snapshot, requester, approvals so far, rules. */
export type ApprovalSubject = {
  readonly deployment: ApprovalPolicy & { readonly name: string };
  readonly requestedBy: string;
  readonly approvals: Readonly<Record<StageName, readonly StoredApproval[]>>;
  readonly rules: RulesOutcome;
};

type Memberships = { readonly groups: Set<string>; readonly unconfirmed: unknown };

/** The groups of `groupIds` `userId` is in; a group Slack cannot answer for is not counted, and remembered. */
async function membershipsOf(
  userId: string,
  groupIds: readonly string[],
  groups: GroupMembership | undefined,
): Promise<Memberships> {
  const found = new Set<string>();
  let unconfirmed: unknown = null;
  if (!groups) return { groups: found, unconfirmed };
  for (const id of groupIds) {
    try {
      if (await groups.isMember(userId, id)) found.add(id);
    } catch (error) {
      unconfirmed ??= error;
    }
  }
  return { groups: found, unconfirmed };
}

const mentionId = (id: string) => (id.startsWith('S') ? `members of ${id}` : id);

/** What the decision is called in sentences. */
function decisionWords(stage: StageName, destroy: boolean): string {
  if (stage === 'plan') return 'approve its plan';
  return destroy ? 'confirm the destroy' : 'confirm the apply';
}

/** The core's sentence for an approval refusal; front ends may write their own from code and details. */
function refusalSentence(
  refusal: ApprovalRefusal,
  subject: ApprovalSubject,
  what: string,
  groupNote: string,
  allFrom: readonly string[],
): string {
  const name = subject.deployment.name;
  const approvers = allFrom.map(mentionId).join(', ');
  switch (refusal.code) {
    case 'already_approved':
      return `you have already approved this, so you cannot ${what} again: one person counts once`;
    case 'self_approval':
      return `you requested this run, so you cannot ${what} yourself: ask another approver of ${name} (${approvers})`;
    case 'plan_approver':
      return `you approved this run's plan, so you cannot also ${what}: ask another approver of ${name} (${approvers})`;
    case 'not_approver':
      return `you are not an approver of ${name}, so you cannot ${what}: approvers are ${approvers}${groupNote}`;
    case 'approval_not_needed':
      return 'your approval is not needed: the requirements you can count for already have enough people';
    case 'rule_denied':
      return `rule ${refusal.details.rule} denies this, so you cannot ${what}: ${refusal.details.message}`;
    case 'rule_failed':
      return `rule ${refusal.details.rule} failed (${refusal.details.error}), so you cannot ${what}: a rule that fails denies`;
  }
}

/**
 * Checks `actor`'s approval of `stage`: returns how it counts, or throws the
 * Refusal that says why not. A group membership Slack could not confirm
 * fails closed: when the approval would not count without it, that failure is
 * the answer.
 */
export async function checkApproval(
  stage: StageName,
  subject: ApprovalSubject,
  actor: Actor,
  groups: GroupMembership | undefined,
  destroy: boolean,
): Promise<ApprovalCounts> {
  // ↓ Rules' extra requirements and denials come in through `subject.rules`.
  const entries = stageEntries(subject.deployment, stage, subject.rules);
  const groupIds = groupsNamed(entries);
  const context: DecisionContext = {
    requester: subject.requestedBy,
    planApprovers: new Set(subject.approvals.plan.map((a) => a.actor)),
  };
  const stored = subject.approvals[stage];
  const prior = await Promise.all(
    stored.map(async (a) =>
      storedApprover(a, (await membershipsOf(a.actor, groupIds, groups)).groups, entries, context),
    ),
  );
  const own = await membershipsOf(actor.id, groupIds, groups);
  const judgement = judgeApproval(
    stage,
    entries,
    prior,
    { userId: actor.id, groups: own.groups },
    context,
    subject.rules,
  );
  if (judgement.ok) return judgement;
  const unsure = judgement.code === 'not_approver' || judgement.code === 'approval_not_needed';
  if (own.unconfirmed !== null && unsure) throw own.unconfirmed;
  const allFrom = [...new Set(entries.flatMap((e) => e.requirement.from))];
  const groupNote =
    !groups && groupIds.length > 0 ? ' (user-group membership can only be checked from Slack)' : '';
  throw new Refusal(
    judgement.code,
    refusalSentence(judgement, subject, decisionWords(stage, destroy), groupNote, allFrom),
    { ...judgement.details },
  );
}
