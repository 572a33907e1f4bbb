// `/deploy lock NAME|env:ENV|all "reason"`, `/deploy unlock NAME|env:ENV|all`,
// `/deploy locks`: ad hoc locks from Slack. The Slack user of the signed
// request acts; the core checks who may lock (locks.from, default the
// approvers). Replies are seen by that person; the run messages the lock holds
// are redrawn (the core bumps those runs).

import type { Actor } from '../../../core/api/types.ts';
import { isRefusal } from '../../../core/errors.ts';
import { parseLockTarget } from '../../../core/policy/lock-target.ts';
import { tokenize } from '../../../core/variables/args.ts';
import { renderLockChanged, renderLockList } from '../../render/holds.ts';
import { renderProblem } from '../../render/replies.ts';
import type { SlashCommand } from '../../slack/payloads.ts';
import type { Reply } from '../../slack/respond.ts';
import { forgetRequest, recordRequest } from '../../store/messages.ts';
import type { BotContext } from '../context.ts';

export const LOCK_WORDS = ['lock', 'unlock', 'locks'] as const;

export function lockUsage(command: string): string[] {
  return [
    `${command} lock <deployment> | env:<environment> | all "reason"`,
    `${command} unlock <deployment> | env:<environment> | all`,
    `${command} locks`,
  ];
}

/** Handles the lock words; false when the text is something else. */
export async function handleLockCommand(
  ctx: BotContext,
  cmd: SlashCommand,
  text: string,
  reply: Reply,
): Promise<boolean> {
  let words: string[];
  try {
    words = tokenize(text);
  } catch {
    return false;
  }
  const [first, second, ...rest] = words;
  const word = first?.toLowerCase();
  if (!word || !(LOCK_WORDS as readonly string[]).includes(word)) return false;
  const command = ctx.command;
  const usage = lockUsage(command);
  if (word === 'locks') {
    if (second !== undefined) {
      await reply(renderProblem('locks takes no arguments', { usage }));
      return true;
    }
    await reply(renderLockList(await ctx.core.listLocks(), command));
    return true;
  }
  const target = parseLockTarget(second ?? '');
  if (target === null) {
    await reply(
      renderProblem(`what to ${word}? Give a deployment name, env:ENVIRONMENT or all`, { usage }),
    );
    return true;
  }
  if (word === 'unlock' && rest.length > 0) {
    await reply(renderProblem('unlock takes one deployment, env:ENVIRONMENT or all', { usage }));
    return true;
  }
  const actor: Actor = { id: cmd.user_id, via: 'slack', channel: cmd.channel_id };
  // Once per command: a retried delivery (same trigger_id) does not act again.
  const key = `cmd:${cmd.trigger_id}`;
  if (!(await recordRequest(ctx.core.store, key, word))) {
    ctx.log.info('duplicate delivery of a command: not acted on again', { kind: word });
    return true;
  }
  try {
    const lock =
      word === 'lock'
        ? await ctx.core.lock(target, actor, rest.join(' '))
        : await ctx.core.unlock(target, actor);
    ctx.log.info(word === 'lock' ? 'locked' : 'unlocked', {
      userId: cmd.user_id,
      scope: lock.scope,
      target: lock.target,
    });
    await reply(renderLockChanged(lock, word === 'lock' ? 'locked' : 'unlocked', command));
  } catch (error) {
    if (!isRefusal(error)) throw error;
    // A refusal changed nothing: the same command may be answered again.
    await forgetRequest(ctx.core.store, key).catch((forgetError: unknown) =>
      ctx.log.warn('could not forget a refused command', { error: forgetError }),
    );
    await reply(
      renderProblem(error.message, {
        usage: error.code === 'reason_required' ? [usage[0]!] : usage,
      }),
    );
  }
  return true;
}
