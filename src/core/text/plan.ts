// Text about a run that every front end shows the same way: written once here.

import type { Actor } from '../api/types.ts';

type PlanCounts = {
  readonly known: boolean;
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
};

/** "+N to add, ~N to change, -N to destroy", or "counts unknown". */
export function planCounts(plan: PlanCounts): string {
  if (!plan.known) return 'counts unknown';
  return `+${plan.add} to add, ~${plan.change} to change, -${plan.destroy} to destroy`;
}

/** Why the counts of a plan are unknown, for the front ends that have room to say it. */
export const COUNTS_UNKNOWN_REASON = 'the plan step wrote no changes document';

/** The engine itself, as the actor of what no person did (expiry, recovery, the queue). */
export const SYSTEM_ACTOR: Actor = Object.freeze({ id: 'system', via: 'system' });

export function isSystemActor(id: string): boolean {
  return id === SYSTEM_ACTOR.id;
}
