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

/** What happened: the run's new status, or (an approval that counted, the run waits for more) what it still needs. */
function outcomeText(dialog: Dialog, run: RunView): string {
  const stage = dialog.action === 'approve' ? 'plan' : dialog.action === 'apply' ? 'apply' : null;
  if (stage !== null && run.status === dialog.run.status && run.policy) {
    return `approval counted: ${run.id}: ${stageSummary(stage, run.policy[stage])}`;
  }
  return `${DONE[dialog.action]}: ${run.id} is now ${run.statusLabel.toLowerCase()}`;
}

export async function performAction(
  core: TuiCore,
  actor: Actor,
  dialog: Dialog,
): Promise<ActionOutcome> {
  const id = dialog.run.id;
  const planId = dialog.run.plan?.id;
  try {
    const run =
      dialog.action === 'approve'
        ? await core.approvePlan(id, actor, { planId })
        : dialog.action === 'apply'
          ? await core.confirmApply(id, actor, { planId })
          : await core.cancelRun(id, actor, { reason: dialog.reason.trim() || undefined });
    return { run, message: { kind: 'success', text: outcomeText(dialog, run) } };
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
