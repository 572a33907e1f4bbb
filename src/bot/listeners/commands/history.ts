// `/deploy history NAME`: answered like the other sub-commands (only the
// person sees it), under the channel rule of the deployment.

import type { Actor } from '../../../core/api/types.ts';
import { isRefusal } from '../../../core/errors.ts';
import { checkChannel } from '../../../core/lifecycle/policy.ts';
import { HISTORY_RUNS, renderHistory } from '../../render/history.ts';
import { renderProblem } from '../../render/replies.ts';
import type { SlashCommand } from '../../slack/payloads.ts';
import { createReply } from '../../slack/respond.ts';
import type { BotContext } from '../context.ts';

/** The deployment named after `history`, or null when the text is not a history request. */
export function historyTarget(text: string): { name: string | null } | null {
  const [first, ...rest] = text.trim().split(/\s+/);
  if (first?.toLowerCase() !== 'history') return null;
  return { name: rest.length === 1 && rest[0] !== '' ? rest[0]! : null };
}

export async function handleHistory(
  ctx: BotContext,
  cmd: SlashCommand,
  name: string | null,
): Promise<void> {
  const log = ctx.log.child({ userId: cmd.user_id, channel: cmd.channel_id, command: 'history' });
  const reply = createReply(
    { responseUrl: cmd.response_url, channel: cmd.channel_id, user: cmd.user_id },
    { client: ctx.client, log },
  );
  if (name === null) {
    await reply(
      renderProblem('history takes one deployment name', {
        usage: [`${ctx.command} history <deployment>`],
      }),
    );
    return;
  }
  try {
    const deployment = ctx.core.deployment(name);
    const actor: Actor = { id: cmd.user_id, via: 'slack', channel: cmd.channel_id };
    checkChannel(deployment, actor);
    const runs = await ctx.core.listRuns({
      deployment: deployment.name,
      statuses: ['completed'],
      limit: HISTORY_RUNS,
    });
    await reply(renderHistory(deployment, runs, ctx.command));
  } catch (error) {
    if (!isRefusal(error)) throw error;
    await reply(renderProblem(error, { usage: [`${ctx.command} history <deployment>`] }));
  }
}
