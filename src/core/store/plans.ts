// Plans and the approvals bound to them.

import type { Actor } from '../api/types.ts';
import type { Db, Tx } from './database.ts';
import { and, eq } from './orm.ts';
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

/** Records an approval of `stage`, bound to the plan and its exact artifacts. */
export async function insertApproval(
  tx: Tx,
  runId: string,
  stage: 'plan' | 'apply',
  plan: PlanRow,
  actor: Actor,
  note: string | null = null,
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
    }),
  );
  if (!row) throw new Error(`recording the ${stage} approval of ${runId} returned nothing`);
  return row;
}

export async function planApprovalOf(tx: Tx, runId: string): Promise<ApprovalRow | null> {
  const [row] = await selectRows(
    tx,
    approvals,
    and(eq(approvals.runId, runId), eq(approvals.stage, 'plan')),
  );
  return row ?? null;
}
