// "Approve plan": the first approval, bound to the plan the message showed.

import type { App } from '@slack/bolt';
import { ACTION_IDS } from '../../render/actions.ts';
import type { BotContext } from '../context.ts';
import { type RunButton, registerRunButton } from './run-button.ts';

export const approvePlanButton: RunButton = {
  actionId: ACTION_IDS.approvePlan,
  what: 'approve the plan',
  decide: (core, runId, actor, options) => core.approvePlan(runId, actor, options),
};

export function registerApprovePlan(app: App, ctx: BotContext): void {
  registerRunButton(app, ctx, approvePlanButton);
}
