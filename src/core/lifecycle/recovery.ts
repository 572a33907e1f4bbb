// What to do with a run whose worker died mid-step. Read-only steps are run
// again by another worker; a change in progress is never re-applied blindly.

import type { RecoveryStep } from '../api/types.ts';
import { assertNever, type Phase, type RunKind, type RunStatus } from './statuses.ts';

export const MAX_STEP_ATTEMPTS = 3;

/** The hint of a change step that stopped part way: it is never run again blindly. */
export const PARTLY_CHANGED =
  'infrastructure may be partly changed: inspect it, then run the deployment again; its plan shows what exists now';

export type OrphanAction =
  | { readonly kind: 'retry'; readonly reason: string }
  | {
      readonly kind: 'fail';
      readonly to: 'failed' | 'rollback_failed';
      readonly phase: Phase;
      readonly message: string;
      readonly hint: string;
    };

export function decideOrphan(status: RunStatus, attempts: number): OrphanAction {
  const lost = 'the worker running this step stopped (no heartbeat)';
  switch (status) {
    case 'pending':
    case 'initializing':
    case 'planning':
    case 'verifying': {
      const phase: Phase =
        status === 'verifying' ? 'verify' : status === 'planning' ? 'plan' : 'detect';
      if (attempts < MAX_STEP_ATTEMPTS) {
        return {
          kind: 'retry',
          reason: `${lost}; the ${phase} step is read-only, so another worker runs it again (attempt ${attempts + 1} of ${MAX_STEP_ATTEMPTS})`,
        };
      }
      return {
        kind: 'fail',
        to: 'failed',
        phase,
        message: `${lost} ${attempts} times during ${phase}`,
        hint: `the ${phase} step keeps killing its worker (out of memory?): check the workers' resources and logs, then run again`,
      };
    }
    case 'applying':
    case 'destroying':
      return {
        kind: 'fail',
        to: 'failed',
        phase: 'execute',
        message: `${lost} while ${status === 'applying' ? 'applying' : 'destroying'}; the step was not run again`,
        hint: PARTLY_CHANGED,
      };
    case 'rolling_back':
      return {
        kind: 'fail',
        to: 'rollback_failed',
        phase: 'rollback',
        message: `${lost} while rolling back; the rollback was not run again`,
        hint: 'manual intervention is required: the service may be half rolled back. Save the diagnostics first (the whole log), then restore the previous version by hand',
      };
    case 'queued':
    case 'awaiting_plan_approval':
    case 'awaiting_apply_approval':
    case 'completed':
    case 'destroyed':
    case 'no_changes':
    case 'failed':
    case 'cancelled':
    case 'rolled_back':
    case 'rollback_failed':
      throw new Error(`a run in ${status} has no worker to lose`);
    default:
      return assertNever(status);
  }
}

/**
 * What a person can do about a failed run, beside its hint: read the log and
 * run it again; after a failed rollback, save the whole log first (someone
 * restores by hand). Each front end words these its own way.
 */
export function recoveryStepsOf(run: {
  readonly id: string;
  readonly deployment: string;
  readonly kind: RunKind;
  readonly status: RunStatus;
}): RecoveryStep[] {
  switch (run.status) {
    case 'rollback_failed':
      return [{ kind: 'save_logs', runId: run.id }];
    case 'failed':
    case 'rolled_back':
      return [
        { kind: 'see_logs', runId: run.id },
        { kind: 'run_again', deployment: run.deployment, runKind: run.kind },
      ];
    default:
      return [];
  }
}
