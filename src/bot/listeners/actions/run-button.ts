// What every run button shares: acknowledge at once, validate the click, make
// sure it acts only on the run (and plan) its message was rendered for, ask
// the core (which applies the approver, self-approval and channel rules and is
// race-safe: two Approve clicks give one approval), and answer a refusal with
// its exact reason while the message is re-rendered to the truth.

import type { App } from '@slack/bolt';
import type { ActOptions } from '../../../core/api/port.ts';
import type { Actor, RunView } from '../../../core/api/types.ts';
import { isRefusal } from '../../../core/errors.ts';
import type { BotPort } from '../../port.ts';
import {
  ACTION_IDS,
  type ActionId,
  AGAIN_ACTION_IDS,
  NOTE_ACTION_ID,
  parseButtonValue,
} from '../../render/actions.ts';
import { FORM_ACTION_IDS } from '../../render/modal.ts';
import { renderClickRefused, renderErrorReply, renderProblem } from '../../render/replies.ts';
import { blockActionsSchema } from '../../slack/payloads.ts';
import { createReply } from '../../slack/respond.ts';
import { forgetRequest, getMessageRow, recordRequest } from '../../store/messages.ts';
import { isNoticeMessage } from '../../store/notices.ts';
import type { BotContext } from '../context.ts';
import { openOverrideForm } from '../views/note-form.ts';

export type Decide = (
  core: BotPort,
  runId: string,
  actor: Actor,
  options: ActOptions,
) => Promise<RunView>;

export type RunButton = {
  readonly actionId: ActionId;
  /** For logs: "approve plan". */
  readonly what: string;
  readonly decide: Decide;
};

/** Refusals after which the message may show a state the run has left. */
const STALE_CODES = new Set([
  'wrong_status',
  'plan_changed',
  'not_cancellable',
  'approval_expired',
]);

export function registerRunButton(app: App, ctx: BotContext, button: RunButton): void {
  app.action(button.actionId, async ({ ack, body }) => {
    await ack();
    await handleRunButton(ctx, body, button);
  });
}

/** Everything after the ack. Never throws. */
export async function handleRunButton(
  ctx: BotContext,
  rawBody: unknown,
  button: RunButton,
): Promise<void> {
  const parsed = blockActionsSchema.safeParse(rawBody);
  if (!parsed.success) {
    ctx.log.warn('malformed block_actions payload', { actionId: button.actionId });
    return;
  }
  const body = parsed.data;
  const channel = body.container?.channel_id ?? body.channel?.id;
  const user = body.user.id;
  const log = ctx.log.child({ userId: user, channel, actionId: button.actionId });
  let reply = createReply(
    { responseUrl: body.response_url, channel, user },
    { client: ctx.client, log },
  );
  const action = body.actions.find((a) => a.action_id === button.actionId);
  const value = parseButtonValue(action?.value);
  if (action === undefined || value === null) {
    log.warn('a run button without a valid value');
    await reply(
      renderProblem('this button carries no run deploy-bot can act on; nothing was changed'),
    );
    return;
  }
  const runId = value.runId;
  try {
    // The renderer names each block after its run: a button moved to another
    // block or message does not act on someone else's run.
    if (!action.block_id.endsWith(`:${runId}`)) {
      log.warn('a button whose value names another run than its block', {
        runId,
        blockId: action.block_id,
      });
      await reply(
        renderProblem(`this button does not belong to run ${runId}; nothing was changed`),
      );
      return;
    }
    const row = await getMessageRow(ctx.core.store, runId);
    const messageTs = body.container?.message_ts ?? body.message?.ts;
    // The run's buttons also sit on the DMs telling its approvers, and on the
    // App Home: those act as in the run's channel (its channel rule applies).
    const elsewhere =
      row !== null &&
      (body.container?.type === 'view' ||
        (row.ts !== null &&
          messageTs !== undefined &&
          row.ts !== messageTs &&
          channel !== undefined &&
          (await isNoticeMessage(ctx.core.store, runId, channel, messageTs))));
    if (row !== null && body.container?.type === 'view') {
      // A Home click has no channel and no response_url: answer in the run's channel.
      reply = createReply(
        { responseUrl: undefined, channel: row.channel, user },
        { client: ctx.client, log },
      );
    }
    if (!elsewhere && row?.ts && messageTs !== undefined && row.ts !== messageTs) {
      log.warn('a run button on another message than the run’s', { runId, messageTs });
      await reply(
        renderProblem(
          `this is not the message of run ${runId}: use the buttons on its own message`,
        ),
      );
      return;
    }
    const key = `act:${body.trigger_id}`;
    if (!(await recordRequest(ctx.core.store, key, button.actionId, runId))) {
      log.info('duplicate delivery of a click: not acted on again', { runId });
      return;
    }
    const actor: Actor = { id: user, via: 'slack', channel: elsewhere ? row.channel : channel };
    try {
      const run = await button.decide(ctx.core, runId, actor, {
        planId: value.planId ?? undefined,
      });
      ctx.outbox.poke(run.id);
      log.info('button', { runId, what: button.what, status: run.status, version: run.version });
    } catch (error) {
      if (!isRefusal(error)) throw error;
      await forgetRequest(ctx.core.store, key).catch(() => {});
      log.info('click refused', { runId, code: error.code, what: button.what });
      // Someone who may override a freeze is asked why (the form confirms with it).
      if (
        error.code === 'frozen' &&
        error.details.canOverride === true &&
        button.actionId === ACTION_IDS.confirmApply &&
        (await openOverrideForm(ctx, body.trigger_id, {
          runId,
          version: value.version,
          planId: value.planId,
          about: error.message,
        }))
      ) {
        return;
      }
      let now: RunView | null = null;
      if (STALE_CODES.has(error.code)) {
        await ctx.outbox.redeliver(runId);
        now = await ctx.core.getRun(runId).catch(() => null);
      }
      await reply(renderClickRefused(error, now));
    }
  } catch (error) {
    if (isRefusal(error)) {
      await reply(renderClickRefused(error, null));
      return;
    }
    log.error('a click failed', { runId, error });
    await reply(
      renderErrorReply(
        `deploy-bot could not ${button.what}`,
        error instanceof Error ? error.message : String(error),
      ),
    );
  }
}

const KNOWN = [
  ...Object.values(ACTION_IDS),
  ...Object.values(AGAIN_ACTION_IDS),
  NOTE_ACTION_ID,
  ...FORM_ACTION_IDS,
].join('|');

/** Buttons of other (older) messages: answered, never acted on. */
export function registerUnknownActions(app: App, ctx: BotContext): void {
  app.action(new RegExp(`^(?!(?:${KNOWN})$)`), async ({ ack, body }) => {
    await ack();
    const parsed = blockActionsSchema.safeParse(body);
    if (!parsed.success) return;
    const p = parsed.data;
    ctx.log.warn('unknown action', { actionId: p.actions[0]?.action_id, userId: p.user.id });
    await createReply(
      {
        responseUrl: p.response_url,
        channel: p.container?.channel_id ?? p.channel?.id,
        user: p.user.id,
      },
      { client: ctx.client, log: ctx.log },
    )(renderProblem('deploy-bot does not know this button; nothing was changed'));
  });
}
