// Rules on the run and its plan: which of a deployment's rules match a run now,
// and what follows (more approvals needed, a refusal, a warning, a note).
// Pure: the caller brings the run's facts as a ConditionInput.

import {
  type Condition,
  ConditionFailure,
  type ConditionInput,
  compileCondition,
  isConditionProblem,
  nowIn,
} from './condition.ts';
import type { AppliedRule, RuleMode, RuleRequirement } from './rule-config.ts';

export type { AppliedRule, RuleMode, RuleRequirement } from './rule-config.ts';

export type RuleResult = {
  readonly name: string;
  readonly mode: RuleMode;
  readonly effect: 'require' | 'deny';
  readonly matched: boolean;
  /** The deny text. */
  readonly message: string | null;
  /** A runtime failure (fails closed when enforce). */
  readonly error: string | null;
};

export type RuleDenial = {
  readonly rule: string;
  readonly message: string;
  /** The rule's condition failed (fail closed), rather than matched. */
  readonly failed: boolean;
};

export type RulesOutcome = {
  readonly results: readonly RuleResult[];
  /** Extra entries from matched enforce `require` rules, per stage. */
  readonly require: {
    readonly plan: readonly RuleRequirement[];
    readonly apply: readonly RuleRequirement[];
  };
  /** Matched enforce deny rules and enforce rules that failed. */
  readonly denials: readonly RuleDenial[];
};

export const NO_RULES: RulesOutcome = {
  results: [],
  require: { plan: [], apply: [] },
  denials: [],
};

export type CompiledRule = AppliedRule & {
  readonly condition: Condition;
  /**
   * The condition names `now` or `approvals` (the facts that change while a
   * run waits): its answer at a decision may differ from the plan's. A rule
   * that does not reads only the run and its plan, which never change.
   */
  readonly readsDecisionFacts: boolean;
};

// A superset by design: a name inside a string literal counts too.
const DECISION_FACTS = /\b(?:now|approvals)\b/;

/** An evaluation as a row keeps it: how many rules, and those that matched or failed. */
export type EvaluationSummary = {
  readonly evaluated: number;
  readonly rules: readonly RuleResult[];
};

/**
 * A plan's evaluation when it became ready: the answer of every rule that
 * reads only the run and its plan, for as long as the run's rules are those
 * evaluated.
 */
export type PlanVerdict = EvaluationSummary;

// Conditions by their source: compiled once per process, whatever run or
// config version they come from (a decision evaluates, never parses).
const compiled = new Map<string, Condition>();
const MAX_CACHED = 10_000;

function conditionOf(source: string): Condition {
  const cached = compiled.get(source);
  if (cached) return cached;
  const condition = compileCondition(source);
  if (isConditionProblem(condition)) {
    // Checked when the config loaded; a stored snapshot that no longer
    // compiles (a newer CEL) fails closed at each evaluation.
    const why = `the condition does not compile (column ${condition.column}): ${condition.message}`;
    return {
      source,
      evaluate() {
        throw new ConditionFailure(why);
      },
    };
  }
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(source, condition);
  return condition;
}

// A config version's rule lists are kept (versions never change): compiled once each.
const compiledLists = new WeakMap<readonly AppliedRule[], readonly CompiledRule[]>();

export function compileRules(rules: readonly AppliedRule[] | undefined): readonly CompiledRule[] {
  if (!rules || rules.length === 0) return [];
  let list = compiledLists.get(rules);
  if (!list) {
    list = rules.map((rule) => ({
      ...rule,
      condition: conditionOf(rule.when),
      readsDecisionFacts: DECISION_FACTS.test(rule.when),
    }));
    compiledLists.set(rules, list);
  }
  return list;
}

/**
 * Evaluates every rule. An enforce rule that matches denies (deny) or adds its
 * entries (require); one whose condition fails denies with the error (fail
 * closed). Warn and dry-run rules only report.
 *
 * Given the plan's verdict on these same rules, a rule that reads only the
 * run and its plan takes its answer from there instead of being evaluated
 * again (a decision evaluates only what can have changed since the plan).
 */
export function evaluateRules(
  rules: readonly CompiledRule[],
  input: ConditionInput | (() => ConditionInput),
  planVerdict: PlanVerdict | null = null,
): RulesOutcome {
  if (rules.length === 0) return NO_RULES;
  const known = verdictApplies(rules, planVerdict) ? verdictByName(planVerdict) : null;
  let facts: ConditionInput | null = typeof input === 'function' ? null : input;
  const results: RuleResult[] = [];
  const plan: RuleRequirement[] = [];
  const apply: RuleRequirement[] = [];
  const denials: RuleDenial[] = [];
  for (const rule of rules) {
    let matched = false;
    let error: string | null = null;
    if (known && !rule.readsDecisionFacts) {
      // Only rules that matched or failed are kept: any other did neither.
      const then = known.get(rule.name);
      matched = then?.matched ?? false;
      error = then?.error ?? null;
    } else {
      facts ??= (input as () => ConditionInput)();
      try {
        matched = rule.condition.evaluate(facts);
      } catch (failure) {
        error = failure instanceof Error ? failure.message : String(failure);
      }
    }
    results.push({
      name: rule.name,
      mode: rule.mode,
      effect: rule.effect,
      matched,
      message: rule.message,
      error,
    });
    if (rule.mode !== 'enforce') continue;
    if (error !== null) {
      denials.push({ rule: rule.name, message: error, failed: true });
    } else if (matched && rule.effect === 'deny') {
      denials.push({ rule: rule.name, message: rule.message ?? rule.name, failed: false });
    } else if (matched) {
      plan.push(...rule.require.plan);
      apply.push(...rule.require.apply);
    }
  }
  return { results, require: { plan, apply }, denials };
}

/** The plan's verdict answers for these rules: it was made on them (the run's own). */
export function verdictApplies(
  rules: readonly CompiledRule[],
  verdict: PlanVerdict | null,
): verdict is PlanVerdict {
  return verdict !== null && verdict.evaluated === rules.length;
}

/**
 * An evaluation's results from what a decision kept of it (the rules it
 * evaluated itself, those that matched or failed) and the plan's verdict it
 * took the others from: the notable results, in the rules' order.
 */
export function mergedResults(
  rules: readonly CompiledRule[],
  fresh: readonly RuleResult[],
  verdict: PlanVerdict,
): RuleResult[] {
  const fromPlan = verdictByName(verdict);
  const evaluated = new Map(fresh.map((r) => [r.name, r]));
  return rules.flatMap((rule) => {
    const result = rule.readsDecisionFacts ? evaluated.get(rule.name) : fromPlan.get(rule.name);
    return result ? [result] : [];
  });
}

function verdictByName(verdict: PlanVerdict): ReadonlyMap<string, RuleResult> {
  return new Map(verdict.rules.map((r) => [r.name, r]));
}

/**
 * What an evaluation said, as the decision was told: by the first enforce rule
 * that says no (its condition failed, or it matched and denies), else allowed.
 */
export function evaluationResult(results: readonly RuleResult[]): 'allowed' | 'denied' | 'failed' {
  const first = results.find(
    (r) => r.mode === 'enforce' && (r.error !== null || (r.matched && r.effect === 'deny')),
  );
  return first === undefined ? 'allowed' : first.error !== null ? 'failed' : 'denied';
}

/** The rules that say something: matched, or failed. */
export function notableResults(outcome: RulesOutcome): RuleResult[] {
  return outcome.results.filter((r) => r.matched || r.error !== null);
}

/** What a run row, its plan and approvals give a condition. */
export type RunFacts = {
  readonly deployment: string;
  readonly environment: string;
  readonly kind: string;
  readonly requestedBy: string;
  readonly requestedVia: string;
  /** Plain (non-sensitive) variables only: sensitive ones are never shown to a condition. */
  readonly variables: Readonly<Record<string, string | number | boolean>>;
  readonly plan: ConditionInput['run']['plan'] | null;
  readonly approvals: readonly { readonly stage: string; readonly actor: string }[];
  /** The config's time zone; UTC when the snapshot predates it. */
  readonly timezone: string | undefined;
};

const NO_PLAN = { known: false, add: 0, change: 0, destroy: 0, changes: [] } as const;

/** The condition input of a run at `now`. */
export function conditionInputOf(facts: RunFacts, now: Date): ConditionInput {
  const plan = facts.plan;
  return {
    deployment: { name: facts.deployment, environment: facts.environment },
    run: {
      kind: facts.kind,
      requestedBy: facts.requestedBy,
      via: facts.requestedVia,
      variables: facts.variables,
      plan: plan
        ? {
            known: plan.known,
            add: plan.add,
            change: plan.change,
            destroy: plan.destroy,
            changes: plan.changes.map((c) => ({ address: c.address, action: c.action })),
          }
        : NO_PLAN,
    },
    approvals: facts.approvals.map((a) => ({ stage: a.stage, by: a.actor })),
    now: nowIn(now, facts.timezone ?? 'UTC'),
  };
}
