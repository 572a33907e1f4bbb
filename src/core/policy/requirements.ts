// Approval requirements: "2 from S0SRE or U0LEAD, not the requester", several
// entries that must all hold. Pure: group membership comes in resolved. One
// person counts once, for one entry, even when eligible for several; approvals
// are assigned to entries by a maximum matching, so the order in which people
// click never leaves a requirement unmet that could be met.

export type Requirement = {
  /** Distinct people needed. */
  readonly count: number;
  /** Slack user ids (U…, W…) and user-group ids (S…). */
  readonly from: readonly string[];
  /** The requester's approval does not count. */
  readonly notRequester: boolean;
  /** For the apply decision: the plan's approvers do not count. */
  readonly notPlanApprovers: boolean;
};

export type Approver = {
  readonly userId: string;
  /** The user groups of `from` lists this person is a member of. */
  readonly groups: ReadonlySet<string>;
};

export type DecisionContext = {
  readonly requester: string;
  /** Who approved the plan (for notPlanApprovers). */
  readonly planApprovers: ReadonlySet<string>;
};

export type EntryState = {
  readonly requirement: Requirement;
  /** The people whose approval went to this entry, in approval order. */
  readonly satisfiedBy: readonly string[];
  readonly missing: number;
};

export type RequirementsState = {
  readonly satisfied: boolean;
  readonly entries: readonly EntryState[];
  /** Approvals that count for no entry (all their entries were already full). */
  readonly surplus: readonly string[];
};

/** Why a person may not count for an entry; null when they may. */
export type Ineligibility = 'not_listed' | 'requester' | 'plan_approver';

export function ineligibility(
  requirement: Requirement,
  approver: Approver,
  context: DecisionContext,
): Ineligibility | null {
  const listed =
    requirement.from.includes(approver.userId) ||
    requirement.from.some((id) => approver.groups.has(id));
  if (!listed) return 'not_listed';
  if (requirement.notRequester && approver.userId === context.requester) return 'requester';
  if (requirement.notPlanApprovers && context.planApprovers.has(approver.userId))
    return 'plan_approver';
  return null;
}

/**
 * Assigns approvers (in approval order) to entries, each entry taking up to its
 * count, each person at most once, maximising how many count (Kuhn's
 * augmenting paths: a few dozen people at most, so simple is fast).
 */
export function evaluateRequirements(
  requirements: readonly Requirement[],
  approvers: readonly Approver[],
  context: DecisionContext,
): RequirementsState {
  const slots: number[] = [];
  requirements.forEach((r, entry) => {
    for (let i = 0; i < r.count; i++) slots.push(entry);
  });
  // Eligibility is per entry: checked once per person and entry, not per slot.
  const eligible = approvers.map((a) => {
    const ok = requirements.map((r) => ineligibility(r, a, context) === null);
    return slots.flatMap((entry, slot) => (ok[entry] ? [slot] : []));
  });
  const holder: (number | null)[] = slots.map(() => null);
  const place = (person: number, seen: Set<number>): boolean => {
    // A free slot first: most people need no augmenting path at all.
    for (const slot of eligible[person] ?? []) {
      if (seen.has(slot) || holder[slot] !== null) continue;
      seen.add(slot);
      holder[slot] = person;
      return true;
    }
    for (const slot of eligible[person] ?? []) {
      if (seen.has(slot)) continue;
      seen.add(slot);
      const current = holder[slot];
      if (current === null || current === undefined || place(current, seen)) {
        holder[slot] = person;
        return true;
      }
    }
    return false;
  };
  const surplus: string[] = [];
  approvers.forEach((a, person) => {
    if (!place(person, new Set())) surplus.push(a.userId);
  });
  const entries = requirements.map((requirement, entry) => {
    const people = slots
      .map((e, slot) => (e === entry ? holder[slot] : null))
      .filter((p): p is number => p !== null && p !== undefined)
      .sort((x, y) => x - y)
      .map((p) => (approvers[p] as Approver).userId);
    return { requirement, satisfiedBy: people, missing: requirement.count - people.length };
  });
  return { satisfied: entries.every((e) => e.missing === 0), entries, surplus };
}

/**
 * Whether one more approval by `candidate` would count: it must fill a slot
 * that is still open (possibly by moving someone else to another entry).
 */
export function wouldCount(
  requirements: readonly Requirement[],
  approvers: readonly Approver[],
  candidate: Approver,
  context: DecisionContext,
): boolean {
  if (approvers.some((a) => a.userId === candidate.userId)) return false;
  const before = evaluateRequirements(requirements, approvers, context);
  const after = evaluateRequirements(requirements, [...approvers, candidate], context);
  return after.surplus.length === before.surplus.length;
}

/** The requirement that one approver list and the self-approval switch amount to. */
export function singleApproval(
  approvers: readonly string[],
  allowSelfApproval: boolean,
): Requirement {
  return { count: 1, from: approvers, notRequester: !allowSelfApproval, notPlanApprovers: false };
}
