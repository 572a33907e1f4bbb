// "Run again" (a finished run's message) and "Deploy this version" (a run
// listed by `/deploy history NAME`): a new run of the same deployment with the
// old run's variables, requested by whoever clicked, through the same checks
// and both approvals as any run. Sensitive values are never shown and not
// kept for re-use by the bot: those variables take their configured default
// again, and the answer says so.

import type { App } from '@slack/bolt';
import type { Actor, RunView } from '../../../core/api/types.ts';
import { isRefusal } from '../../../core/errors.ts';
import { AGAIN_ACTION_IDS, parseButtonValue } from '../../render/actions.ts';
import { renderProblem, renderRunAccepted } from '../../render/replies.ts';
import { blockActionsSchema } from '../../slack/payloads.ts';
import { createReply } from '../../slack/respond.ts';
import { createMessageRow, forgetRequest, recordRequest } from '../../store/messages.ts';
import type { BotContext } from '../context.ts';

/** The old run's variables as `key=value` inputs, without the sensitive (masked) ones. */
export function againVariables(
  ctx: BotContext,
  run: RunView,
): { variables: Record<string, string>; sensitive: string[] } {
  const specs = ctx.core.deployment(run.deployment).variables;
  const variables: Record<string, string> = {};
  const sensitive: string[] = [];
  for (const [name, value] of Object.entries(run.variables)) {
    const spec = specs[name];
    if (spec === undefined) continue;
    if (spec.sensitive) sensitive.push(name);
    else variables[name] = String(value);
  }
  return { variables, sensitive };
}

export function registerRunAgain(app: App, ctx: BotContext): void {
  for (const actionId of Object.values(AGAIN_ACTION_IDS)) {
    app.action(actionId, async ({ ack, body }) => {
      await ack();
      const parsed = blockActionsSchema.safeParse(body);
      if (!parsed.success) {
        ctx.log.warn('malformed block_actions payload', { actionId });
        return;
      }
      const p = parsed.data;
      const channel = p.container?.channel_id ?? p.channel?.id;
      const user = p.user.id;
      const log = ctx.log.child({ userId: user, channel, actionId });
      const reply = createReply(
        { responseUrl: p.response_url, channel, user },
        { client: ctx.client, log },
      );
      const value = parseButtonValue(p.actions.find((a) => a.action_id === actionId)?.value);
      if (value === null || channel === undefined) {
        await reply(renderProblem('this button carries no run deploy-bot can start again'));
        return;
      }
      const key = `act:${p.trigger_id}`;
      if (!(await recordRequest(ctx.core.store, key, actionId, value.runId))) return;
      try {
        const old = await ctx.core.getRun(value.runId);
        const { variables, sensitive } = againVariables(ctx, old);
        const actor: Actor = { id: user, via: 'slack', channel };
        const run = await ctx.core.requestRun({
          deployment: old.deployment,
          kind: 'execute',
          variables,
          actor,
          onCreated: (tx, runId) =>
            createMessageRow(tx, {
              runId,
              channel,
              requestedBy: user,
              responseUrl: p.response_url ?? null,
            }),
        });
        await ctx.outbox.track(run.id);
        log.info('run requested again', { runId: run.id, from: old.id });
        const accepted = renderRunAccepted(run, ctx.command);
        await reply(
          sensitive.length === 0
            ? accepted
            : {
                ...accepted,
                blocks: [
                  ...accepted.blocks,
                  ...renderProblem(
                    `${sensitive.join(', ')} ${sensitive.length === 1 ? 'is' : 'are'} sensitive: the run uses the configured default, not the value of ${old.id}`,
                  ).blocks,
                ],
              },
        );
      } catch (error) {
        await forgetRequest(ctx.core.store, key).catch(() => {});
        if (isRefusal(error)) {
          await reply(renderProblem(error));
          return;
        }
        log.error('could not start the run again', { error });
        await reply(
          renderProblem(
            `deploy-bot could not start the run again: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      }
    });
  }
}
