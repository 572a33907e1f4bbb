// What holds a run back, for Slack: the freeze in force (or the one its apply
// overrode) and the locks, in the run message; and the answers to
// `/deploy lock`, `/deploy unlock` and `/deploy locks`. Pure, fitted to limits.

import type { FreezeView, LockView, RunView } from '../../core/api/types.ts';
import { describeLockTarget, lockTargetText } from '../../core/policy/lock-target.ts';
import { type Block, mrkdwn, type RenderedMessage } from './blocks.ts';
import { codeText, fitEncoded, mention, slackDate } from './format.ts';
import { escapeMrkdwn, LIMITS, truncate } from './limits.ts';

const esc = (raw: string, max: number) => fitEncoded(raw, max, escapeMrkdwn);

/** A user as a mention, a user group as a group mention. */
function who(id: string): string {
  return /^S[A-Z0-9]{2,}$/.test(id) ? `<!subteam^${id}>` : mention(id);
}

function freezeLine(freeze: FreezeView): string {
  const reason = `“${esc(freeze.reason, 300)}”`;
  if (freeze.overridden) {
    return `❄ Applied during the freeze ${reason}: ${who(freeze.overridden.by)} overrode it, ${slackDate(freeze.overridden.at)}: “${esc(freeze.overridden.reason, 400)}”`;
  }
  const override =
    freeze.overrideFrom.length > 0
      ? `Only ${freeze.overrideFrom.map(who).join(', ')} may apply before then, with a written reason (Apply asks for it).`
      : 'Nobody may override it: the apply waits until it ends.';
  return `❄ *Frozen* until ${slackDate(freeze.endsAt)}: ${reason}. ${override}`;
}

function lockLine(lock: LockView, command: string): string {
  return `🔒 *Locked* (${esc(describeLockTarget(lock), 120)}) by ${who(lock.by)} since ${slackDate(lock.at)}: “${esc(lock.reason, 300)}”. Nothing is applied until \`${fitEncoded(`${command} unlock ${lockTargetText(lock)}`, 150, codeText)}\`.`;
}

/** The run message's holds section, or null when nothing holds the run. */
export function holdsText(run: RunView, max: number, command = '/deploy'): string | null {
  const policy = run.policy;
  if (!policy) return null;
  const lines = [
    ...(policy.freeze ? [freezeLine(policy.freeze)] : []),
    ...policy.locks.map((l) => lockLine(l, command)),
  ];
  return lines.length === 0 ? null : truncate(lines.join('\n'), max);
}

function lockItem(lock: LockView): string {
  return `• *${esc(describeLockTarget(lock), 120)}* by ${who(lock.by)} since ${slackDate(lock.at)}: “${esc(lock.reason, 300)}”`;
}

const section = (text: string): Block => ({
  type: 'section',
  text: mrkdwn(truncate(text, LIMITS.sectionText)),
});

/** The answer to `/deploy lock …` and `/deploy unlock …`. */
export function renderLockChanged(
  lock: LockView,
  change: 'locked' | 'unlocked',
  command: string,
): RenderedMessage {
  const target = describeLockTarget(lock);
  const text =
    change === 'locked'
      ? `🔒 Locked *${esc(target, 120)}*: “${esc(lock.reason, 400)}”. Runs may plan and get plan approval; no apply or destroy is confirmed until \`${fitEncoded(`${command} unlock ${lockTargetText(lock)}`, 150, codeText)}\`.`
      : `🔓 Unlocked *${esc(target, 120)}* (locked by ${who(lock.by)} since ${slackDate(lock.at)}: “${esc(lock.reason, 300)}”). Applies may be confirmed again.`;
  return {
    text: truncate(`${change === 'locked' ? 'Locked' : 'Unlocked'} ${target}`, 300),
    blocks: [section(text)],
  };
}

/** The answer to `/deploy locks`. */
export function renderLockList(locks: readonly LockView[], command: string): RenderedMessage {
  if (locks.length === 0) {
    return {
      text: 'Nothing is locked.',
      blocks: [
        section(`Nothing is locked. Lock with \`${command} lock NAME|env:ENV|all "reason"\`.`),
      ],
    };
  }
  const items: string[] = [];
  let used = 0;
  for (const [i, lock] of locks.entries()) {
    const line = lockItem(lock);
    if (used + line.length > LIMITS.sectionText - 200) {
      items.push(`…and ${locks.length - i} more`);
      break;
    }
    items.push(line);
    used += line.length + 1;
  }
  return {
    text: `${locks.length} lock(s) in force`,
    blocks: [
      section(`*Locks in force (${locks.length})*\n${items.join('\n')}`),
      {
        type: 'context',
        elements: [mrkdwn(`Lift one with \`${command} unlock NAME|env:ENV|all\`.`)],
      },
    ],
  };
}
