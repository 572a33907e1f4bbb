// The dashboard's actions on a run: the core call behind a confirmed dialog, and
// the line that reports its outcome (a refusal word for word).

import type { Actor, RunView } from '../core/api/types.ts';
import { errorMessage, isRefusal } from '../core/errors.ts';
import { stageSummary, stillNeeds } from '../core/text/policy.ts';
import type { Message } from './components/chrome.ts';
import type { Dialog } from './components/confirm.ts';
import type { TuiCore } from './data/port.ts';

export type ActionOutcome = { readonly run: RunView | null; readonly message: Message };

const DONE = { approve: 'plan approved', apply: 'confirmed', cancel: 'cancelled' } as const;

/** L: lock or unlock the run's deployment; the runs it holds are redrawn as they change. */
async function lockAction(core: TuiCore, actor: Actor, dialog: Dialog): Promise<ActionOutcome> {
  const target = { scope: 'deployment', target: dialog.run.deployment } as const;
  const lock =
    dialog.action === 'lock'
      ? await core.lock(target, actor, dialog.reason.trim())
      : await core.unlock(target, actor);
  return {
    run: null,
    message: {
      kind: 'success',
      text: `${dialog.action === 'lock' ? 'locked' : 'unlocked'} ${lock.target}: “${lock.reason}”`,
    },
  };
}

/** What happened: the run's new status, or (an approval that counted, the run waits for more) what it still needs. */
function outcomeText(action: keyof typeof DONE, before: RunView, run: RunView): string {
  const stage = action === 'approve' ? 'plan' : action === 'apply' ? 'apply' : null;
  if (stage !== null && run.status === before.status && run.policy) {
    return `approval counted: ${run.id}: ${stageSummary(stage, run.policy[stage])}`;
  }
  return `${DONE[action]}: ${run.id} is now ${run.statusLabel.toLowerCase()}`;
}

export async function performAction(
  core: TuiCore,
  actor: Actor,
  dialog: Dialog,
): Promise<ActionOutcome> {
  const id = dialog.run.id;
  const planId = dialog.run.plan?.id;
  try {
    if (dialog.action === 'lock' || dialog.action === 'unlock')
      return await lockAction(core, actor, dialog);
    const reason = dialog.reason.trim() || undefined;
    const run =
      dialog.action === 'approve'
        ? await core.approvePlan(id, actor, { planId })
        : dialog.action === 'apply'
          ? await core.confirmApply(id, actor, { planId, overrideReason: reason })
          : await core.cancelRun(id, actor, { reason });
    return {
      run,
      message: { kind: 'success', text: outcomeText(dialog.action, dialog.run, run) },
    };
  } catch (error) {
    return {
      run: null,
      message: isRefusal(error)
        ? {
            kind: 'error',
            text: `refused: ${error.message}${stillNeeds(error.code, error.details)}`,
          }
        : { kind: 'error', text: `${dialog.action} failed: ${errorMessage(error)}` },
    };
  }
}
