// The approval policy's state in words, the same in every front end: "Plan
// approvals 1 of 2: still needs 1 from S0SRE". Each front end passes its own
// way of naming a user or a group (Slack mentions, plain ids).

import { z } from 'zod';
import type { ApprovalView, PolicyView } from '../api/types.ts';
import type { PolicyEntryView, StageName, StageView } from '../policy/evaluate.ts';

export type Namer = (id: string) => string;

const plain: Namer = (id) => id;

/** At most this many ids of one `from` are named; the rest are counted. */
const MAX_NAMED = 8;

function fromText(from: readonly string[], name: Namer): string {
  const shown = from.slice(0, MAX_NAMED).map(name).join(', ');
  return from.length > MAX_NAMED ? `${shown} and ${from.length - MAX_NAMED} more` : shown;
}

/** One entry: "2 from S0SRE, U0LEAD", with where it comes from when a rule added it. */
export function entryText(entry: PolicyEntryView, name: Namer = plain): string {
  const rule = entry.source.kind === 'rule' ? ` (rule ${entry.source.rule})` : '';
  return `${entry.count} from ${fromText(entry.from, name)}${rule}`;
}

/** The one-approval default (one entry, one person): the message says it without counts. */
export function isSingleApproval(stage: StageView): boolean {
  return stage.entries.length === 1 && stage.entries[0]?.count === 1;
}

const STAGE_LABEL: Record<StageName, string> = { plan: 'Plan approvals', apply: 'Apply approvals' };

/** "Plan approvals 1 of 2: still needs 1 from S0SRE and 1 from S0SECURITY" / "Plan approvals 2 of 2". */
export function stageSummary(stage: StageName, view: StageView, name: Namer = plain): string {
  const needed = view.entries.reduce((n, e) => n + e.count, 0);
  const have = view.entries.reduce((n, e) => n + Math.min(e.count, e.satisfiedBy.length), 0);
  const head = `${STAGE_LABEL[stage]} ${have} of ${needed}`;
  const missing = view.entries.filter((e) => e.missing > 0);
  if (missing.length === 0) return head;
  const needs = missing.map((e) => entryText({ ...e, count: e.missing }, name)).join(' and ');
  return `${head}: still needs ${needs}`;
}

/** "for 2 from S0SRE, U0LEAD": the entry an approval counted for, or null when that says nothing. */
export function approvalEntryText(
  policy: PolicyView | null,
  approval: ApprovalView,
  name: Namer = plain,
): string | null {
  if (!policy || approval.entry === null || approval.entry === undefined) return null;
  const stage = policy[approval.stage];
  const entry = stage.entries[approval.entry];
  if (!entry || isSingleApproval(stage)) return null;
  return `for ${entryText(entry, name)}`;
}

/** The stages whose requirements the run shows: those beyond the one-approval default. */
export function stagesToShow(policy: PolicyView | null): [StageName, StageView][] {
  if (!policy) return [];
  return (['plan', 'apply'] as const)
    .filter((s) => !isSingleApproval(policy[s]))
    .map((s) => [s, policy[s]]);
}

const missingDetails = z.object({
  missing: z.array(z.object({ from: z.array(z.string()), missing: z.number().int() })),
});

/** Refusals after which a front end says what the stage still needs (the others name the approvers already). */
const SAYS_WHAT_IS_MISSING = new Set(['already_approved', 'approval_not_needed', 'plan_approver']);

/**
 * "; it still needs 1 from S0ONCALL": what a front end adds to an approval
 * refusal from its details, naming people its own way ('' when nothing to add).
 */
export function stillNeeds(
  code: string,
  details: Readonly<Record<string, unknown>>,
  name: Namer = plain,
): string {
  if (!SAYS_WHAT_IS_MISSING.has(code)) return '';
  const parsed = missingDetails.safeParse(details);
  if (!parsed.success || parsed.data.missing.length === 0) return '';
  const needs = parsed.data.missing.map((m) => `${m.missing} from ${fromText(m.from, name)}`);
  return `; it still needs ${needs.join(' and ')}`;
}
