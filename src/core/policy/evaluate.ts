// The approval requirements of one decision, evaluated: which entries a stage
// has (the deployment's, then those rules add), whether one more approval
// counts and for which entry, and the state each front end shows ("Plan
// approvals 1 of 2: still needs 1 from S0SRE"). Pure: group membership comes
// in resolved, the stored approvals come in as data.

import type { ApprovalsConfig } from '../config/approvals.ts';
import {
  type Approver,
  type DecisionContext,
  evaluateRequirements,
  ineligibility,
  type Requirement,
  type RequirementsState,
  singleApproval,
} from './requirements.ts';
import type { RulesOutcome } from './rules.ts';

export type StageName = 'plan' | 'apply';

export type EntrySource =
  | { readonly kind: 'deployment' }
  | { readonly kind: 'rule'; readonly rule: string };

export type PolicyEntryView = {
  readonly count: number;
  readonly from: readonly string[];
  readonly notRequester: boolean;
  readonly notPlanApprovers: boolean;
  readonly source: EntrySource;
  /** User ids, in approval order. */
  readonly satisfiedBy: readonly string[];
  readonly missing: number;
};

export type StageView = {
  readonly satisfied: boolean;
  readonly entries: readonly PolicyEntryView[];
};

/** A requirement and where it comes from. */
export type StageEntry = { readonly requirement: Requirement; readonly source: EntrySource };

/** The policy part of a deployment's config snapshot. */
export type ApprovalPolicy = {
  readonly approvers: readonly string[];
  readonly allowSelfApproval: boolean;
  readonly approvals?: ApprovalsConfig | undefined;
};

/** A rule's extra entry may name its rule; shown as the entry's source. */
type RuleRequirement = Requirement & { readonly rule?: string };

/** The deployment's own entries of a stage, defaults filled in; without `approvals`, one of `approvers`. */
export function deploymentRequirements(policy: ApprovalPolicy, stage: StageName): Requirement[] {
  const configured = policy.approvals?.[stage];
  if (!configured) return [singleApproval(policy.approvers, policy.allowSelfApproval)];
  return configured.map((entry) => ({
    count: entry.count,
    from: entry.from ?? policy.approvers,
    notRequester: entry.notRequester ?? !policy.allowSelfApproval,
    notPlanApprovers: stage === 'apply' && entry.notPlanApprovers,
  }));
}

/** Every entry of a stage: the deployment's first, then the ones matched rules require. */
export function stageEntries(
  policy: ApprovalPolicy,
  stage: StageName,
  rules: RulesOutcome,
): StageEntry[] {
  const own = deploymentRequirements(policy, stage).map((requirement) => ({
    requirement,
    source: { kind: 'deployment' } as const,
  }));
  const extra = rules.require[stage].map((requirement: RuleRequirement) => ({
    requirement,
    source: { kind: 'rule', rule: requirement.rule ?? 'rule' } as const,
  }));
  return [...own, ...extra];
}

/** An approval already stored for the stage, in approval order. */
export type StoredApproval = { readonly actor: string; readonly entry: number | null };

/** An entry still short of people, as refusals and views name it. */
export type MissingEntry = {
  readonly entry: number;
  readonly from: readonly string[];
  readonly missing: number;
  readonly source: EntrySource;
};

export type ApprovalRefusalCode =
  | 'already_approved'
  | 'self_approval'
  | 'plan_approver'
  | 'not_approver'
  | 'approval_not_needed'
  | 'rule_denied'
  | 'rule_failed';

export type ApprovalRefusal = {
  readonly ok: false;
  readonly code: ApprovalRefusalCode;
  readonly details: {
    readonly stage: StageName;
    /** Entries still short of people (not_approver, approval_not_needed). */
    readonly missing: readonly MissingEntry[];
    readonly rule?: string;
    readonly message?: string;
    readonly error?: string;
  };
};

export type ApprovalCounts = {
  readonly ok: true;
  /** The entry the new approval counts for. */
  readonly entry: number;
  /** Every approver's entry after it (approvals may move between entries to fit). */
  readonly assignment: ReadonlyMap<string, number | null>;
  /** The stage's requirements hold with it: the run moves on. */
  readonly satisfied: boolean;
  readonly state: RequirementsState;
};

export type Judgement = ApprovalCounts | ApprovalRefusal;

function missingEntries(entries: readonly StageEntry[], state: RequirementsState): MissingEntry[] {
  return state.entries.flatMap((e, entry) =>
    e.missing > 0
      ? [
          {
            entry,
            from: e.requirement.from,
            missing: e.missing,
            source: (entries[entry] as StageEntry).source,
          },
        ]
      : [],
  );
}

/**
 * Whether `candidate`'s approval of `stage` counts. `prior` are the stage's
 * approvals so far, each resolved to an Approver (same order as `stored`).
 */
export function judgeApproval(
  stage: StageName,
  entries: readonly StageEntry[],
  prior: readonly Approver[],
  candidate: Approver,
  context: DecisionContext,
  rules: RulesOutcome,
): Judgement {
  const requirements = entries.map((e) => e.requirement);
  const before = evaluateRequirements(requirements, prior, context);
  const refuse = (
    code: ApprovalRefusalCode,
    extra: Partial<ApprovalRefusal['details']> = {},
  ): ApprovalRefusal => ({
    ok: false,
    code,
    details: { stage, missing: missingEntries(entries, before), ...extra },
  });
  const denial = rules.denials[0];
  if (denial)
    return denial.failed
      ? refuse('rule_failed', { rule: denial.rule, error: denial.message })
      : refuse('rule_denied', { rule: denial.rule, message: denial.message });
  if (prior.some((a) => a.userId === candidate.userId)) return refuse('already_approved');
  const reasons = requirements.map((r) => ineligibility(r, candidate, context));
  if (reasons.every((r) => r !== null)) {
    if (reasons.includes('requester')) return refuse('self_approval');
    if (reasons.includes('plan_approver')) return refuse('plan_approver');
    return refuse('not_approver');
  }
  const after = evaluateRequirements(requirements, [...prior, candidate], context);
  if (after.surplus.includes(candidate.userId)) return refuse('approval_not_needed');
  const assignment = new Map<string, number | null>();
  for (const a of [...prior, candidate]) assignment.set(a.userId, null);
  after.entries.forEach((e, entry) => {
    for (const person of e.satisfiedBy) assignment.set(person, entry);
  });
  return {
    ok: true,
    entry: assignment.get(candidate.userId) as number,
    assignment,
    satisfied: after.satisfied,
    state: after,
  };
}

/** A stage as shown: each entry with who counted for it (the stored `entry`) and what it still needs. */
export function stageView(
  entries: readonly StageEntry[],
  approvals: readonly StoredApproval[],
): StageView {
  const views = entries.map(({ requirement, source }, entry) => {
    const satisfiedBy = approvals.filter((a) => a.entry === entry).map((a) => a.actor);
    return {
      count: requirement.count,
      from: requirement.from,
      notRequester: requirement.notRequester,
      notPlanApprovers: requirement.notPlanApprovers,
      source,
      satisfiedBy,
      missing: Math.max(0, requirement.count - satisfiedBy.length),
    };
  });
  return { satisfied: views.every((v) => v.missing === 0), entries: views };
}

/** The group ids a stage's entries name: the memberships a decision needs resolved. */
export function groupsNamed(entries: readonly StageEntry[]): string[] {
  return [
    ...new Set(entries.flatMap((e) => e.requirement.from.filter((id) => id.startsWith('S')))),
  ];
}

/**
 * A stored approver as the matching sees them: their groups as resolved now,
 * and still eligible for the entry they counted for when they approved (their
 * membership then was checked; a client without a group resolver cannot check
 * it again, and leaving a group later does not undo an approval).
 */
export function storedApprover(
  stored: StoredApproval,
  groups: ReadonlySet<string>,
  entries: readonly StageEntry[],
  context: DecisionContext,
): Approver {
  const approver = { userId: stored.actor, groups };
  const counted = stored.entry === null ? undefined : entries[stored.entry];
  if (!counted || ineligibility(counted.requirement, approver, context) !== 'not_listed')
    return approver;
  const entryGroups = counted.requirement.from.filter((id) => id.startsWith('S'));
  return { userId: stored.actor, groups: new Set([...groups, ...entryGroups]) };
}

/** Both stages as shown, from the stored approvals (each with its stage and entry, in approval order). */
export function policyStages(
  policy: ApprovalPolicy,
  approvals: readonly (StoredApproval & { readonly stage: string })[],
  rules: RulesOutcome,
): { readonly plan: StageView; readonly apply: StageView } {
  const of = (stage: StageName) =>
    stageView(
      stageEntries(policy, stage, rules),
      approvals.filter((a) => a.stage === stage),
    );
  return { plan: of('plan'), apply: of('apply') };
}
