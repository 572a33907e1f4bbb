// What a transition implies beyond its one compare-and-set statement, as data:
// both transition paths (in a caller's transaction, and on its own) read this
// one list, so what a move does and whether it needs a transaction never drift.

import { type RunStatus, SLOT_STATUSES, STATUS_TABLE } from './statuses.ts';

export const TRANSITION_EFFECTS = [
  /** The new status is worked by a worker that does not have the run yet: a job. */
  'send_step',
  /** A change starts: plans made before it are stale, their waiting runs are cancelled. */
  'supersede_waiting',
  /** The move frees the deployment's slot: the oldest queued run starts. */
  'promote_next',
] as const;
export type TransitionEffect = (typeof TRANSITION_EFFECTS)[number];

export type Move = {
  readonly from: RunStatus;
  readonly to: RunStatus;
  /** The worker continues with the run in the same job. */
  readonly keepWorker?: boolean | undefined;
  /** The move claims the run for this worker. */
  readonly claimFor?: string | undefined;
};

/** The effects of a move, in the order they are carried out. */
export function transitionEffects(move: Move): TransitionEffect[] {
  const keepsWorker = move.keepWorker === true || move.claimFor !== undefined;
  const effects: TransitionEffect[] = [];
  if (STATUS_TABLE[move.to].working && !keepsWorker) effects.push('send_step');
  if (move.to === 'applying' || move.to === 'destroying') effects.push('supersede_waiting');
  if (freesSlot(move)) effects.push('promote_next');
  return effects;
}

/** The run leaves the statuses that hold its deployment's slot. */
export function freesSlot(move: Move): boolean {
  return SLOT_STATUSES.includes(move.from) && !SLOT_STATUSES.includes(move.to);
}
