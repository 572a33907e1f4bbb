// Plans and the approvals bound to them.

import type { Actor } from '../api/types.ts';
import type { Db, Tx } from './database.ts';
import { and, eq, sql } from './orm.ts';
import { returningRows, selectRows } from './rows.ts';
import type { PlanRow } from './runs.ts';
import { approvals, plans } from './schema.ts';

export type ApprovalRow = typeof approvals.$inferSelect;

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
 * with the requirement entry it counted for.
 */
export async function insertApproval(
  tx: Tx,
  runId: string,
  stage: 'plan' | 'apply',
  plan: PlanRow,
  actor: Actor,
  note: string | null = null,
  entry: number | null = null,
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
