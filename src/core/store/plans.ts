// Plans, their artifacts (encrypted at rest) and the approvals bound to them:
// the only module that writes or reads these tables.

import type { Actor, ApprovalStage } from '../api/types.ts';
import type { EvaluationSummary } from '../policy/rules.ts';
import type { Db, Tx } from './database.ts';
import { and, eq, sql } from './orm.ts';
import { returningRows, selectRows } from './rows.ts';
import { approvals, planArtifacts, plans } from './schema.ts';
import { decryptBytes, encryptBytes } from './secrets.ts';

export type PlanRow = typeof plans.$inferSelect;
export type ApprovalRow = typeof approvals.$inferSelect;
export type NewPlan = Omit<typeof plans.$inferInsert, 'createdAt'>;

/** The evaluation an approval keeps (see approvals.rules_from_plan). */
export type ApprovalEvaluation = EvaluationSummary & {
  /** `rules` holds only the rules the decision evaluated; the others are the plan's verdict. */
  readonly fromPlan: boolean;
};

/** A file the plan step left for apply, in the clear. */
export type PlanArtifact = {
  readonly path: string;
  readonly mode: number;
  readonly content: Buffer;
};

/** Stores a plan and its artifacts (encrypted) in the caller's transaction. */
export async function insertPlan(
  tx: Tx,
  plan: NewPlan,
  artifacts: readonly PlanArtifact[],
): Promise<void> {
  await tx.insert(plans).values(plan);
  for (const a of artifacts) {
    await tx
      .insert(planArtifacts)
      .values({ planId: plan.id, path: a.path, mode: a.mode, content: encryptBytes(a.content) });
  }
}

/** A plan, its artifacts (decrypted) and the run's approvals; null plan when it is gone. */
export async function planForApply(
  db: Db,
  runId: string,
  planId: string,
): Promise<{ plan: PlanRow | null; artifacts: PlanArtifact[]; approvals: ApprovalRow[] }> {
  const [[plan], artifacts, approved] = await Promise.all([
    selectRows(db, plans, eq(plans.id, planId)),
    selectRows(db, planArtifacts, eq(planArtifacts.planId, planId)),
    selectRows(db, approvals, eq(approvals.runId, runId)),
  ]);
  return {
    plan: plan ?? null,
    artifacts: artifacts.map((a) => ({
      path: a.path,
      mode: a.mode,
      content: decryptBytes(a.content, `the plan artifact ${a.path} of ${planId}`),
    })),
    approvals: approved,
  };
}

export async function planById(db: Db | Tx, planId: string): Promise<PlanRow | null> {
  const [plan] = await selectRows(db, plans, eq(plans.id, planId));
  return plan ?? null;
}

export async function planTextOf(db: Db, planId: string): Promise<string | null> {
  const [plan] = await db.select({ text: plans.text }).from(plans).where(eq(plans.id, planId));
  return plan?.text ?? null;
}

/**
 * Records an approval of `stage`, bound to the plan and its exact artifacts,
 * with the requirement entry it counted for and the rules' evaluation that
 * allowed it (the audit's record of that evaluation).
 */
export async function insertApproval(
  tx: Tx,
  runId: string,
  stage: ApprovalStage,
  plan: PlanRow,
  actor: Actor,
  note: string | null = null,
  entry: number | null = null,
  rules: ApprovalEvaluation | null = null,
): Promise<ApprovalRow> {
  const [row] = await returningRows(
    tx,
    approvals,
    tx.insert(approvals).values({
      runId,
      stage,
      planId: plan.id,
      artifactHash: plan.artifactHash,
      actor: actor.id,
      via: actor.via,
      note,
      entry,
      rulesEvaluated: rules?.evaluated ?? null,
      rulesMatched: rules ? [...rules.rules] : null,
      rulesFromPlan: rules?.fromPlan ?? null,
      rulesAt: rules ? sql`now()` : null,
      // The time of the insert, not of the transaction's start: approvals are
      // ordered by it, and concurrent ones insert in the order of the run lock.
      createdAt: sql`clock_timestamp()`,
    }),
  );
  if (!row) throw new Error(`recording the ${stage} approval of ${runId} returned nothing`);
  return row;
}

/** A run's approvals (of every plan it had), in approval order. */
export async function approvalsOfRun(db: Db | Tx, runId: string): Promise<ApprovalRow[]> {
  return selectRows(
    db,
    approvals,
    eq(approvals.runId, runId),
    sql`order by ${approvals.createdAt}, ${approvals.actor}`,
  );
}

/** Moves stored approvals of `stage` to the entries the matching now gives them. */
export async function reassignApprovals(
  tx: Tx,
  runId: string,
  stage: 'plan' | 'apply',
  moves: readonly { readonly actor: string; readonly entry: number | null }[],
): Promise<void> {
  for (const { actor, entry } of moves) {
    await tx
      .update(approvals)
      .set({ entry })
      .where(
        and(eq(approvals.runId, runId), eq(approvals.stage, stage), eq(approvals.actor, actor)),
      );
  }
}
