// The audit of rule evaluations: a plan's on its row, an allowed decision's on
// its approval's, a refused decision's in the policy_evaluations table.

import type { ApprovalStage, PolicyEvaluationView, Via } from '../api/types.ts';
import type { RuleResult } from '../policy/rules.ts';
import type { Db, Tx } from './database.ts';
import { and, asc, eq, isNotNull } from './orm.ts';
import { approvals, plans, policyEvaluations } from './schema.ts';

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

/** An evaluation kept on a plan's or an approval's row. */
export type KeptEvaluation = {
  readonly planId: string;
  readonly evaluated: number;
  readonly rules: readonly RuleResult[];
  readonly at: Date;
};

/** A run's evaluations where they are kept, for the audit (views/evaluations.ts). */
export type EvaluationRecords = {
  /** Refused decisions' (and, before migration 0018, every) evaluations. */
  readonly logged: readonly PolicyEvaluationView[];
  /** Each plan's, when it became ready. */
  readonly plans: readonly KeptEvaluation[];
  /** Each decision the rules allowed, on its approval. */
  readonly approvals: readonly (KeptEvaluation & {
    readonly stage: ApprovalStage;
    readonly actor: string;
    readonly via: Via;
    /** `rules` holds only the rules the decision evaluated; the others are its plan's verdict. */
    readonly fromPlan: boolean;
  })[];
};

export async function evaluationRecords(db: Db, runId: string): Promise<EvaluationRecords> {
  const [logged, planned, approved] = await Promise.all([
    db
      .select()
      .from(policyEvaluations)
      .where(eq(policyEvaluations.runId, runId))
      .orderBy(asc(policyEvaluations.id)),
    db
      .select({
        planId: plans.id,
        evaluated: plans.rulesEvaluated,
        rules: plans.rulesMatched,
        at: plans.createdAt,
      })
      .from(plans)
      .where(and(eq(plans.runId, runId), isNotNull(plans.rulesEvaluated)))
      .orderBy(asc(plans.createdAt)),
    db
      .select({
        planId: approvals.planId,
        stage: approvals.stage,
        actor: approvals.actor,
        via: approvals.via,
        evaluated: approvals.rulesEvaluated,
        rules: approvals.rulesMatched,
        fromPlan: approvals.rulesFromPlan,
        at: approvals.rulesAt,
        createdAt: approvals.createdAt,
      })
      .from(approvals)
      .where(and(eq(approvals.runId, runId), isNotNull(approvals.rulesEvaluated)))
      .orderBy(asc(approvals.createdAt)),
  ]);
  return {
    logged: logged.map((r) => ({
      moment: r.moment as EvaluationMoment,
      actor: r.actor,
      via: r.via as Via | null,
      configVersion: r.configVersion,
      result: r.result as PolicyEvaluationView['result'],
      evaluated: r.evaluated,
      rules: r.rules,
      at: r.createdAt.toISOString(),
    })),
    plans: planned.map((p) => ({
      planId: p.planId,
      evaluated: p.evaluated ?? 0,
      rules: p.rules ?? [],
      at: p.at,
    })),
    approvals: approved.map((a) => ({
      planId: a.planId,
      stage: a.stage,
      actor: a.actor,
      via: a.via,
      evaluated: a.evaluated ?? 0,
      rules: a.rules ?? [],
      fromPlan: a.fromPlan ?? false,
      at: a.at ?? a.createdAt,
    })),
  };
}
