// "Cancel": allowed to the requester and the approvers until changes start.

import type { App } from '@slack/bolt';
import { ACTION_IDS } from '../../render/actions.ts';
import type { BotContext } from '../context.ts';
import { type RunButton, registerRunButton } from './run-button.ts';

export const cancelRunButton: RunButton = {
  actionId: ACTION_IDS.cancelRun,
  what: 'cancel the run',
  decide: (core, runId, actor, options) =>
    core.cancelRun(runId, actor, { ...options, reason: 'cancelled from its Slack message' }),
};

export function registerCancelRun(app: App, ctx: BotContext): void {
  registerRunButton(app, ctx, cancelRunButton);
}
