// Totals kept in PostgreSQL (table metric_totals) so that every process
// reports the same counters, across restarts: runs finished (bumped by the
// very statement that finishes the run) and decisions (approve, apply,
// cancel: accepted, or refused with the refusal's code).

import type { SQL } from 'drizzle-orm';
import type { Decision } from '../lifecycle/decisions.ts';
import type { Db, Tx } from '../store/database.ts';
import { sql } from '../store/orm.ts';

export const RUNS_FINISHED = 'runs_finished';
export const DECISIONS = 'decisions';
export const RETENTION_REMOVED = 'retention_removed';

/**
 * A CTE for the transition statement (after `updated`, before `audit`): counts
 * the finished run by deployment, environment, kind and outcome, and when.
 */
export function finishedTotalSql(outcome: string): SQL {
  return sql`
    finished as (
      insert into metric_totals (metric, labels, value, last_at)
      select ${RUNS_FINISHED}, jsonb_build_object('deployment', deployment, 'environment', environment, 'kind', kind, 'outcome', ${outcome}::text), 1, now()
      from updated
      on conflict (metric, labels) do update
        set value = metric_totals.value + 1, last_at = excluded.last_at
    ),`;
}

/** The decisions counted: the lifecycle's own list. */
export type DecisionName = Decision;

/** Adds one to a decision's total (its own statement: a refusal's transaction is rolled back). */
export async function countDecision(
  db: Db | Tx,
  decision: DecisionName,
  result: 'accepted' | 'refused',
  code: string,
): Promise<void> {
  const labels = JSON.stringify({ decision, result, code });
  await db.execute(sql`
    insert into metric_totals (metric, labels, value, last_at)
    values (${DECISIONS}, ${labels}::jsonb, 1, now())
    on conflict (metric, labels) do update
      set value = metric_totals.value + 1, last_at = excluded.last_at`);
}
