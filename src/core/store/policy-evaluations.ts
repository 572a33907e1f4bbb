// The audit of rule evaluations: a plan's on its row, an allowed decision's on
// its approval's, a refused decision's in the policy_evaluations table.

import type { PolicyEvaluationView, Via } from '../api/types.ts';
import type { RuleResult } from '../policy/rules.ts';
import type { Db, Tx } from './database.ts';
import { and, asc, eq, isNotNull } from './orm.ts';
import { approvals, plans, policyEvaluations, runs } from './schema.ts';

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
 * A run's rules evaluations in the order they happened: its plans' (on each
 * plan's row, "plan ready"), its approvals' (the decisions the rules allowed)
 * and its refused decisions' (this table, which also holds the others' rows
 * written before migration 0018).
 */
export async function listEvaluations(db: Db, runId: string): Promise<PolicyEvaluationView[]> {
  const [logged, planned, approved] = await Promise.all([
    db
      .select()
      .from(policyEvaluations)
      .where(eq(policyEvaluations.runId, runId))
      .orderBy(asc(policyEvaluations.id)),
    db
      .select({
        evaluated: plans.rulesEvaluated,
        rules: plans.rulesMatched,
        at: plans.createdAt,
        configVersion: runs.configVersion,
      })
      .from(plans)
      .innerJoin(runs, eq(runs.id, plans.runId))
      .where(and(eq(plans.runId, runId), isNotNull(plans.rulesEvaluated)))
      .orderBy(asc(plans.createdAt)),
    db
      .select({
        stage: approvals.stage,
        actor: approvals.actor,
        via: approvals.via,
        evaluated: approvals.rulesEvaluated,
        rules: approvals.rulesMatched,
        at: approvals.rulesAt,
        configVersion: runs.configVersion,
      })
      .from(approvals)
      .innerJoin(runs, eq(runs.id, approvals.runId))
      .where(and(eq(approvals.runId, runId), isNotNull(approvals.rulesEvaluated)))
      .orderBy(asc(approvals.createdAt)),
  ]);
  const kept = (
    e: { evaluated: number | null; rules: RuleResult[] | null; at: Date | null },
    rest: Pick<PolicyEvaluationView, 'moment' | 'actor' | 'via' | 'configVersion'>,
  ): PolicyEvaluationView => {
    const rules = e.rules ?? [];
    return {
      ...rest,
      result: resultOf(rules),
      evaluated: e.evaluated ?? 0,
      rules,
      at: (e.at ?? new Date(0)).toISOString(),
    };
  };
  const views: PolicyEvaluationView[] = [
    ...planned.map((p) =>
      kept(p, { moment: 'plan_ready', actor: null, via: null, configVersion: p.configVersion }),
    ),
    ...approved.map((a) =>
      kept(a, {
        moment: a.stage === 'plan' ? 'approve_plan' : 'confirm_apply',
        actor: a.actor,
        via: a.via,
        configVersion: a.configVersion,
      }),
    ),
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
  // Stable: of one time, a plan's evaluation comes before a decision's.
  return views.sort((a, b) => a.at.localeCompare(b.at));
}

/** What the rules said, as a decision would have been told: by the first enforce rule that says no. */
function resultOf(rules: readonly RuleResult[]): PolicyEvaluationView['result'] {
  const first = rules.find(
    (r) => r.mode === 'enforce' && (r.error !== null || (r.matched && r.effect === 'deny')),
  );
  return first === undefined ? 'allowed' : first.error !== null ? 'failed' : 'denied';
}
