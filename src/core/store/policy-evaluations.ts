// The audit of rule evaluations (see the policy_evaluations table).

import type { PolicyEvaluationView, Via } from '../api/types.ts';
import type { Db, Tx } from './database.ts';
import { asc, eq } from './orm.ts';
import { policyEvaluations } from './schema.ts';

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

export async function listEvaluations(db: Db, runId: string): Promise<PolicyEvaluationView[]> {
  const rows = await db
    .select()
    .from(policyEvaluations)
    .where(eq(policyEvaluations.runId, runId))
    .orderBy(asc(policyEvaluations.id));
  return rows.map((r) => ({
    moment: r.moment as EvaluationMoment,
    actor: r.actor,
    via: r.via as Via | null,
    configVersion: r.configVersion,
    result: r.result as PolicyEvaluationView['result'],
    evaluated: r.evaluated,
    rules: r.rules,
    at: r.createdAt.toISOString(),
  }));
}
