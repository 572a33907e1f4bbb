// A run's rules, evaluated where the core decides: when its plan is ready and
// at each decision, inside that transaction. Each evaluation of a deployment
// with rules is in the audit: on the plan's row, on the approval an allowed
// decision writes, and in policy_evaluations for a refused one (after the
// rollback, by the core, from the RuleRefusal it carries).

import type { Actor } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { Refusal } from '../errors.ts';
import { checkChannel, checkIdentity } from '../lifecycle/policy.ts';
import type { Db, Tx } from '../store/database.ts';
import type { ApprovalEvaluation } from '../store/plans.ts';
import {
  type EvaluationMoment,
  insertEvaluation,
  type NewEvaluation,
} from '../store/policy-evaluations.ts';
import {
  compileRules,
  evaluationResult,
  notableResults,
  type PlanVerdict,
  type RuleDenial,
  type RulesOutcome,
  verdictApplies,
} from './rules.ts';
import {
  type ApprovalFact,
  type PlanFacts,
  planVerdictOf,
  type RunRow,
  runPolicyOf,
  runRulesOutcome,
} from './run-policy.ts';

export type { ApprovalFact, PlanFacts } from './run-policy.ts';

/** A decision refused by a rule; carries the evaluation for the audit. */
export class RuleRefusal extends Refusal {
  readonly evaluation: NewEvaluation;
  constructor(denial: RuleDenial, others: readonly RuleDenial[], evaluation: NewEvaluation) {
    const more =
      others.length > 0
        ? ` (and ${others.length} more rule(s): ${others.map((d) => d.rule).join(', ')})`
        : '';
    super(
      denial.failed ? 'rule_failed' : 'rule_denied',
      denial.failed
        ? `refused: the condition of rule "${denial.rule}" failed (${denial.message}), and a rule that cannot be evaluated says no. Fix the rule in the config, or set its mode to warn${more}`
        : `refused by rule "${denial.rule}": ${denial.message}${more}`,
      denial.failed
        ? { rule: denial.rule, error: denial.message }
        : { rule: denial.rule, message: denial.message },
    );
    this.evaluation = evaluation;
  }
}

function evaluationOf(
  row: RunRow,
  moment: EvaluationMoment,
  actor: Actor | null,
  outcome: RulesOutcome,
): NewEvaluation {
  return {
    runId: row.id,
    moment,
    actor: actor?.id ?? null,
    via: actor?.via ?? null,
    configVersion: row.configVersion,
    result: evaluationResult(outcome.results),
    evaluated: outcome.results.length,
    rules: notableResults(outcome),
  };
}

/** The rules' outcome at a decision, and what the approval keeps of it. */
export type RulesCheck = {
  readonly outcome: RulesOutcome;
  /**
   * The evaluation for the audit, stored on the approval the decision writes
   * (no row of its own: a decision's commit stays as small as without rules);
   * null when the deployment has no rules.
   */
  readonly audit: ApprovalEvaluation | null;
  /**
   * The outcome after the decision, for the view it returns: the same one when
   * no rule reads `approvals` (the one input the decision changes); undefined
   * when the view must evaluate again.
   */
  readonly after: RulesOutcome | undefined;
};

/**
 * The rules at a decision, in its transaction: a denial throws a RuleRefusal
 * (the transaction rolls back; the core records the evaluation after it),
 * otherwise the outcome is returned (its `require` adds entries to the stage's
 * requirements) with the evaluation the approval keeps.
 */
export async function enforceRules(
  tx: Tx,
  row: RunRow,
  plan: PlanFacts | null,
  approvals: readonly ApprovalFact[],
  moment: Exclude<EvaluationMoment, 'plan_ready'>,
  actor: Actor,
  now = new Date(),
): Promise<RulesCheck> {
  // Who acts and from where come first: a rule answers only someone who may ask.
  checkIdentity(actor);
  checkChannel(row.config as Deployment, actor);
  const policy = await runPolicyOf(tx, row);
  const verdict = planVerdictOf(plan);
  const outcome = runRulesOutcome(row, policy, plan, approvals, now, verdict);
  const after = policy.rules.some((r) => r.when.includes('approvals')) ? undefined : outcome;
  if (outcome.results.length === 0) return { outcome, audit: null, after };
  const evaluation = evaluationOf(row, moment, actor, outcome);
  const [first, ...others] = outcome.denials;
  if (first) throw new RuleRefusal(first, others, evaluation);
  // The approval keeps what this decision evaluated; the plan's verdict the rest.
  const rules = compileRules(policy.rules);
  const fromPlan = verdictApplies(rules, verdict);
  const evaluatedHere = new Set(rules.filter((r) => r.readsDecisionFacts).map((r) => r.name));
  return {
    outcome,
    audit: {
      evaluated: evaluation.evaluated,
      rules: fromPlan
        ? evaluation.rules.filter((r) => evaluatedHere.has(r.name))
        : evaluation.rules,
      fromPlan,
    },
    after,
  };
}

/**
 * When the plan is ready: every rule evaluated (nothing is decided yet), for
 * the plan's row to keep. The audit shows it as "plan ready"; decisions reuse
 * it for the rules that read only the run and its plan. Null without rules.
 */
export async function planReadyVerdict(
  db: Db | Tx,
  row: RunRow,
  plan: PlanFacts,
  now = new Date(),
): Promise<PlanVerdict | null> {
  const policy = await runPolicyOf(db, row);
  if (policy.rules.length === 0) return null;
  const outcome = runRulesOutcome(row, policy, plan, [], now);
  return { evaluated: outcome.results.length, rules: notableResults(outcome) };
}

/** After a decision's transaction rolled back on a rule: its evaluation, for the audit. */
export async function recordRefusedEvaluation(db: Db, error: unknown): Promise<void> {
  if (error instanceof RuleRefusal) await insertEvaluation(db, error.evaluation);
}
