// `rules:` and `timezone:` in the config: their schemas, the load-time checks
// (every `when` parsed and type-checked, names unique per deployment) and the
// rules as a deployment carries them once loaded (top-level ones first, their
// requirement entries resolved against the deployment's approvers).

import { z } from 'zod';
import {
  type ApprovalEntryConfig,
  approvalsProblems,
  approvalsSchema,
} from '../config/approvals.ts';
import { compileCondition, isConditionProblem } from './condition.ts';
import type { Requirement } from './requirements.ts';

export const RULE_MODES = ['enforce', 'warn', 'dry-run'] as const;
export type RuleMode = (typeof RULE_MODES)[number];

const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** A rule's `require`: the shape of `approvals:` (src/core/config/approvals.ts). */
const requireSchema = approvalsSchema.refine((r) => r.plan !== undefined || r.apply !== undefined, {
  message: 'require needs plan, apply, or both',
});

export const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(RULE_NAME, 'a rule name is letters, digits, ".", "_" and "-", at most 63'),
    /** A CEL expression over deployment, run, approvals and now. */
    when: z.string().min(1, 'when needs a condition, e.g. run.plan.destroy > 0'),
    require: requireSchema.optional(),
    deny: z.string().trim().min(1, 'deny needs the sentence people see').max(500).optional(),
    mode: z
      .enum(RULE_MODES, { error: () => 'expected enforce, warn or dry-run' })
      .default('enforce'),
  })
  .superRefine((rule, ctx) => {
    if ((rule.require === undefined) === (rule.deny === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: `rule "${rule.name}": give either require (more approvals) or deny (a refusal), not ${rule.require ? 'both' : 'neither'}`,
      });
    }
    const condition = compileCondition(rule.when);
    if (isConditionProblem(condition)) {
      ctx.addIssue({
        code: 'custom',
        path: ['when'],
        message: `rule "${rule.name}", column ${condition.column}: ${condition.message}\n      ${rule.when}\n      ${' '.repeat(condition.column - 1)}^`,
      });
    }
  });
export type RuleConfig = z.output<typeof ruleSchema>;

export const rulesSchema = z.array(ruleSchema).default([]);

/** A requirement entry a rule adds, naming its rule. */
export type RuleRequirement = Requirement & { readonly rule: string };

/** A rule as a loaded deployment carries it: defaults resolved, where it was written. */
export type AppliedRule = {
  readonly name: string;
  readonly when: string;
  readonly mode: RuleMode;
  readonly effect: 'require' | 'deny';
  /** The deny sentence; null for a require rule. */
  readonly message: string | null;
  readonly require: {
    readonly plan: readonly RuleRequirement[];
    readonly apply: readonly RuleRequirement[];
  };
  /** Where it is written: `rules[0]` (every deployment) or `deployments[1].rules[0]`. */
  readonly path: string;
};

type Approvers = { readonly approvers: readonly string[]; readonly allowSelfApproval: boolean };

function resolveEntry(entry: ApprovalEntryConfig, rule: string, d: Approvers): RuleRequirement {
  return {
    count: entry.count,
    from: entry.from ?? d.approvers,
    notRequester: entry.notRequester ?? !d.allowSelfApproval,
    notPlanApprovers: entry.notPlanApprovers,
    rule,
  };
}

function applied(rule: RuleConfig, path: string, d: Approvers): AppliedRule {
  return {
    name: rule.name,
    when: rule.when,
    mode: rule.mode,
    effect: rule.deny !== undefined ? 'deny' : 'require',
    message: rule.deny ?? null,
    require: {
      plan: (rule.require?.plan ?? []).map((e) => resolveEntry(e, rule.name, d)),
      apply: (rule.require?.apply ?? []).map((e) => resolveEntry(e, rule.name, d)),
    },
    path,
  };
}

/** The rules that apply to one deployment: the top-level ones, then its own. */
export function appliedRules(
  topLevel: readonly RuleConfig[],
  own: readonly RuleConfig[],
  index: number,
  d: Approvers,
): AppliedRule[] {
  return [
    ...topLevel.map((r, i) => applied(r, `rules[${i}]`, d)),
    ...own.map((r, i) => applied(r, `deployments[${index}].rules[${i}]`, d)),
  ];
}

export type RuleIssue = { readonly path: (string | number)[]; readonly message: string };

/**
 * Checks across rules (after each parsed): names unique among the rules a
 * deployment gets, and their entries checked as `approvals:` entries are (a
 * count its user ids cannot give, notPlanApprovers on the plan).
 */
export function ruleIssues(
  topLevel: readonly RuleConfig[],
  deployments: readonly (Approvers & {
    readonly name: string;
    readonly rules: readonly RuleConfig[];
  })[],
): RuleIssue[] {
  const issues = new Map<string, RuleIssue>();
  const add = (issue: RuleIssue) => issues.set(`${issue.path.join('.')} ${issue.message}`, issue);
  const top = { rules: topLevel, path: ['rules'] as (string | number)[], label: 'rules' };
  const namesSeen = new Map<string, string>();
  for (const [i, r] of topLevel.entries()) checkName(r, i, top, namesSeen, add);
  deployments.forEach((d, index) => {
    const own = {
      rules: d.rules,
      path: ['deployments', index, 'rules'],
      label: `deployments[${index}].rules`,
    };
    const names = new Map(namesSeen);
    for (const [i, r] of d.rules.entries()) checkName(r, i, own, names, add);
    // Per deployment: a `from` left to default means this deployment's approvers.
    for (const group of [top, own]) {
      group.rules.forEach((r, i) => {
        for (const issue of approvalsProblems(d.approvers, r.require)) {
          const [, stage, index, field] = issue.path;
          const entry =
            stage === 'plan' || stage === 'apply' ? r.require?.[stage]?.[Number(index)] : undefined;
          // A `from` left to default is this deployment's approvers: say whose.
          const whose = field === 'count' && entry?.from === undefined ? ` (${d.name})` : '';
          add({
            path: [...group.path, i, 'require', ...issue.path.slice(1)],
            message: `rule "${r.name}"${whose}: ${issue.message}`,
          });
        }
      });
    }
  });
  return [...issues.values()];
}

function checkName(
  rule: RuleConfig,
  i: number,
  group: { readonly path: (string | number)[]; readonly label: string },
  seen: Map<string, string>,
  add: (issue: RuleIssue) => void,
) {
  const first = seen.get(rule.name);
  if (first === undefined) {
    seen.set(rule.name, `${group.label}[${i}]`);
    return;
  }
  add({
    path: [...group.path, i, 'name'],
    message: `rule name "${rule.name}" is used twice (also ${first}): refusals name the rule, so each needs its own`,
  });
}
