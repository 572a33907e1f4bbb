// The audit of rule evaluations: decisions' in the policy_evaluations table,
// a plan's on its row.

import type { PolicyEvaluationView, Via } from '../api/types.ts';
import type { RuleResult } from '../policy/rules.ts';
import type { Db, Tx } from './database.ts';
import { and, asc, eq, isNotNull } from './orm.ts';
import { plans, policyEvaluations, runs } from './schema.ts';

export type EvaluationMoment = PolicyEvaluationView['moment'];

export type NewEvaluation = Omit<PolicyEvaluationView, 'at'> & { readonly runId: string };

export async function insertEvaluation(db: Db | Tx, e: NewEvaluation): Promise<void> {
  await db.insert(policyEvaluations).values({
    runId: e.runId,
    moment: e.moment,
    actor: e.actor,
    via: e.via,
    configVersion: e.configVersion,
    result: e.result,
    evaluated: e.evaluated,
    rules: [...e.rules],
  });
}

/**
 * A run's rules evaluations in the order they happened: its plans' (kept on
 * each plan's row, "plan ready") and its decisions' (this table, which also
 * holds plan-ready rows written before migration 0018).
 */
export async function listEvaluations(db: Db, runId: string): Promise<PolicyEvaluationView[]> {
  const [logged, planned] = await Promise.all([
    db
      .select()
      .from(policyEvaluations)
      .where(eq(policyEvaluations.runId, runId))
      .orderBy(asc(policyEvaluations.id)),
    db
      .select({
        evaluated: plans.rulesEvaluated,
        rules: plans.rulesMatched,
        createdAt: plans.createdAt,
        configVersion: runs.configVersion,
      })
      .from(plans)
      .innerJoin(runs, eq(runs.id, plans.runId))
      .where(and(eq(plans.runId, runId), isNotNull(plans.rulesEvaluated)))
      .orderBy(asc(plans.createdAt)),
  ]);
  const views: PolicyEvaluationView[] = [
    ...planned.map((p) => {
      const rules = p.rules ?? [];
      return {
        moment: 'plan_ready' as const,
        actor: null,
        via: null,
        configVersion: p.configVersion,
        result: resultOf(rules),
        evaluated: p.evaluated ?? 0,
        rules,
        at: p.createdAt.toISOString(),
      };
    }),
    ...logged.map((r) => ({
      moment: r.moment as EvaluationMoment,
      actor: r.actor,
      via: r.via as Via | null,
      configVersion: r.configVersion,
      result: r.result as PolicyEvaluationView['result'],
      evaluated: r.evaluated,
      rules: r.rules,
      at: r.createdAt.toISOString(),
    })),
  ];
  // Stable: of one time, a plan's evaluation comes before its decisions'.
  return views.sort((a, b) => a.at.localeCompare(b.at));
}

/** What the rules said, as a decision would have been told: by the first enforce rule that says no. */
function resultOf(rules: readonly RuleResult[]): PolicyEvaluationView['result'] {
  const first = rules.find(
    (r) => r.mode === 'enforce' && (r.error !== null || (r.matched && r.effect === 'deny')),
  );
  return first === undefined ? 'allowed' : first.error !== null ? 'failed' : 'denied';
}
