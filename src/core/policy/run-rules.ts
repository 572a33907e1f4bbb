// A run's rules, evaluated where the core decides: when its plan is ready and
// at each decision, inside that transaction; each evaluation of a deployment
// with rules is recorded in the audit (a refused one after the rollback, by
// the core, from the RuleRefusal it carries).

import type { Actor } from '../api/types.ts';
import { deploymentsOfVersion } from '../config/versions.ts';
import { Refusal } from '../errors.ts';
import type { Db, Tx } from '../store/database.ts';
import { planById } from '../store/plans.ts';
import {
  type EvaluationMoment,
  insertEvaluation,
  type NewEvaluation,
} from '../store/policy-evaluations.ts';
import type { PlanRow, RunRow } from '../store/runs.ts';
import type { AppliedRule } from './rule-config.ts';
import {
  compileRules,
  conditionInputOf,
  evaluateRules,
  NO_RULES,
  notableResults,
  type RuleDenial,
  type RulesOutcome,
} from './rules.ts';

export type ApprovalFact = { readonly stage: string; readonly actor: string };

/** The rules a run is bound to and the time zone of its `now`. */
export type RunPolicy = {
  readonly rules: readonly AppliedRule[];
  readonly timezone: string | undefined;
};

/**
 * The rules of the config version the run was requested under (kept there,
 * not in the run's row; in memory after the first read). Runs older than
 * config versions have none.
 */
export async function runPolicyOf(db: Db | Tx, row: RunRow): Promise<RunPolicy> {
  if (row.configVersion === null) return { rules: [], timezone: undefined };
  const deployment = (await deploymentsOfVersion(db, row.configVersion)).get(row.deployment);
  return { rules: deployment?.appliedRules ?? [], timezone: deployment?.timezone };
}

/** The run's rules evaluated on its facts at `now`. */
export function runRulesOutcome(
  row: RunRow,
  policy: RunPolicy,
  plan: PlanRow | null,
  approvals: readonly ApprovalFact[],
  now = new Date(),
): RulesOutcome {
  const rules = compileRules(policy.rules);
  if (rules.length === 0) return NO_RULES;
  return evaluateRules(
    rules,
    conditionInputOf(
      {
        deployment: row.deployment,
        environment: row.environment,
        kind: row.kind,
        requestedBy: row.requestedBy,
        requestedVia: row.requestedVia,
        // The plain column only: sensitive values live apart and never reach a rule.
        variables: row.variables,
        plan,
        approvals,
        timezone: policy.timezone,
      },
      now,
    ),
  );
}

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
  const first = outcome.denials[0];
  return {
    runId: row.id,
    moment,
    actor: actor?.id ?? null,
    via: actor?.via ?? null,
    configVersion: row.configVersion,
    result: first === undefined ? 'allowed' : first.failed ? 'failed' : 'denied',
    evaluated: outcome.results.length,
    rules: notableResults(outcome),
  };
}

/** The rules' outcome at a decision, and the audit row being written. */
export type RulesCheck = {
  readonly outcome: RulesOutcome;
  /**
   * The evaluation's audit row, sent at once and pipelined with the decision's
   * next statements (one round trip less): await it before the decision ends.
   */
  readonly recorded: Promise<void>;
};

const RECORDED: Promise<void> = Promise.resolve();

/**
 * The rules at a decision, in its transaction: a denial throws a RuleRefusal
 * (the transaction rolls back; the core records the evaluation after it),
 * otherwise the evaluation is recorded with the decision and the outcome
 * returned (its `require` adds entries to the stage's requirements).
 */
export async function enforceRules(
  tx: Tx,
  row: RunRow,
  plan: PlanRow | null,
  approvals: readonly ApprovalFact[],
  moment: Exclude<EvaluationMoment, 'plan_ready'>,
  actor: Actor,
  now = new Date(),
): Promise<RulesCheck> {
  const outcome = runRulesOutcome(row, await runPolicyOf(tx, row), plan, approvals, now);
  if (outcome.results.length === 0) return { outcome, recorded: RECORDED };
  const evaluation = evaluationOf(row, moment, actor, outcome);
  const [first, ...others] = outcome.denials;
  if (first) throw new RuleRefusal(first, others, evaluation);
  const recorded = insertEvaluation(tx, evaluation);
  // Awaited by the decision; until then a failure is not "unhandled" (the
  // transaction fails with it either way).
  recorded.catch(() => {});
  return { outcome, recorded };
}

/** When the plan is ready: evaluated and recorded (nothing is decided yet). */
export async function recordPlanReadyRules(tx: Tx, row: RunRow, now = new Date()): Promise<void> {
  const policy = await runPolicyOf(tx, row);
  if (policy.rules.length === 0 || !row.planId) return;
  const plan = await planById(tx, row.planId);
  const outcome = runRulesOutcome(row, policy, plan, [], now);
  await insertEvaluation(tx, evaluationOf(row, 'plan_ready', null, outcome));
}

/** After a decision's transaction rolled back on a rule: its evaluation, for the audit. */
export async function recordRefusedEvaluation(db: Db, error: unknown): Promise<void> {
  if (error instanceof RuleRefusal) await insertEvaluation(db, error.evaluation);
}
