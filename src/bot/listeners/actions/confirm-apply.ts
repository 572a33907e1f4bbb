// "Apply" / "Destroy": the final confirmation, bound to the approved plan.

import type { App } from '@slack/bolt';
import { ACTION_IDS } from '../../render/actions.ts';
import type { BotContext } from '../context.ts';
import { type RunButton, registerRunButton } from './run-button.ts';

export const confirmApplyButton: RunButton = {
  actionId: ACTION_IDS.confirmApply,
  what: 'confirm the change',
  decide: (core, runId, actor, options) => core.confirmApply(runId, actor, options),
};

export function registerConfirmApply(app: App, ctx: BotContext): void {
  registerRunButton(app, ctx, confirmApplyButton);
}
