// `/deploy login CODE`, `/deploy logout [all | TOKEN-ID]`, `/deploy tokens`:
// signing in deploy-bot's CLI and dashboard through Slack. The Slack user of
// the signed request is who signs in; replies are seen by that person only.

import type { TokenInfo } from '../../../core/api/port.ts';
import { tokenize } from '../../../core/variables/args.ts';
import { renderProblem } from '../../render/replies.ts';
import type { SlashCommand } from '../../slack/payloads.ts';
import type { Reply } from '../../slack/respond.ts';
import type { BotContext } from '../context.ts';

export const ACCOUNT_WORDS = ['login', 'logout', 'tokens'] as const;

const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');

function tokenLine(t: TokenInfo): string {
  return `• *${t.name}* \`${t.id}\`: created ${day(t.createdAt)} UTC, expires ${day(t.expiresAt)} UTC, ${t.lastUsedAt ? `last used ${day(t.lastUsedAt)} UTC` : 'never used'}`;
}

/** Handles the account words; false when the text is something else (a deployment, help, …). */
export async function handleAccountCommand(
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
  const [first, ...rest] = words;
  if (!first || !(ACCOUNT_WORDS as readonly string[]).includes(first.toLowerCase())) return false;
  const accounts = ctx.core.accounts;
  const user = cmd.user_id;
  const command = ctx.command;
  switch (first.toLowerCase()) {
    case 'login': {
      const code = rest[0];
      if (!code || rest.length > 1) {
        await reply(
          renderProblem(
            'which code? Run `deploy-bot login --server URL` on your machine: it prints the code to type',
            {
              usage: [`${command} login CODE`],
            },
          ),
        );
        return true;
      }
      const approved = await accounts.approveLogin(code, user);
      if (!approved.ok) {
        const why = {
          unknown: 'no sign-in is waiting for that code: check it, or run `deploy-bot login` again',
          expired: 'that code expired (codes last 10 minutes): run `deploy-bot login` again',
          used: 'that code was used already: each code signs in once. Run `deploy-bot login` again',
        }[approved.reason];
        await reply(renderProblem(why, { usage: [`${command} login CODE`] }));
        return true;
      }
      await reply(
        [
          `:white_check_mark: Signed in as <@${user}>: deploy-bot on *${approved.clientHost}* (code requested ${day(approved.requestedAt.toISOString())} UTC) now acts as you, under the same rules as your clicks here, for 30 days.`,
          `Not you, or done? \`${command} tokens\` lists your tokens; \`${command} logout\` revokes the newest, \`${command} logout all\` every one (or run \`deploy-bot logout\` on that machine).`,
        ].join('\n'),
      );
      return true;
    }
    case 'tokens': {
      const tokens = await accounts.listTokens(user);
      await reply(
        tokens.length === 0
          ? `You have no deploy-bot tokens. Sign in a machine with \`deploy-bot login --server URL\`, then \`${command} login CODE\`.`
          : [
              `Your deploy-bot tokens (${tokens.length}):`,
              ...tokens.map(tokenLine),
              `Revoke one with \`${command} logout TOKEN-ID\`, all with \`${command} logout all\`.`,
            ].join('\n'),
      );
      return true;
    }
    default: {
      // logout [all | TOKEN-ID]
      const which = rest[0];
      const tokens = await accounts.listTokens(user);
      let revoked: TokenInfo[];
      if (which === 'all') revoked = tokens;
      else if (which) revoked = tokens.filter((t) => t.id === which || t.name === which);
      else revoked = tokens.slice(-1);
      if (which && which !== 'all' && revoked.length === 0) {
        await reply(
          renderProblem(`you have no token ${which}: \`${command} tokens\` lists yours`, {
            usage: [`${command} logout [all | TOKEN-ID]`],
          }),
        );
        return true;
      }
      for (const t of revoked) await accounts.revokeTokens(user, { id: t.id });
      await reply(
        revoked.length === 0
          ? 'You have no deploy-bot tokens to revoke.'
          : [
              `Revoked ${revoked.length} token(s): they stop working at once.`,
              ...revoked.map(tokenLine),
            ].join('\n'),
      );
      return true;
    }
  }
}
