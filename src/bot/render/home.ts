// The app's Home tab, per person: "Waiting for you" (runs they may decide now,
// with the run message's own buttons, bound to run, version and plan),
// "Your recent runs" and "Running now". Pure, within the view limits.

import type { RunView } from '../../core/api/types.ts';
import { STATUS_TABLE } from '../../core/lifecycle/statuses.ts';
import { planCounts } from '../../core/text/plan.ts';
import { codeText, fitEncoded, mention, slackDate } from './format.ts';
import { escapeMrkdwn, truncate } from './limits.ts';
import { renderRunMessage, runTitle } from './run-message.ts';
import { VIEW_LIMITS } from './view-limits.ts';

type Json = Record<string, unknown>;

export type HomeInput = {
  readonly user: string;
  /** Runs the person may decide now (the core's policy decided). */
  readonly waiting: readonly RunView[];
  readonly mine: readonly RunView[];
  readonly running: readonly RunView[];
  /** The channel of each run's message, when known. */
  readonly channels: ReadonlyMap<string, string>;
  readonly command: string;
  readonly now: Date;
};

const MAX_WAITING = 15;
const MAX_LIST = 10;

function runLine(run: RunView, channels: ReadonlyMap<string, string>): string {
  const info = STATUS_TABLE[run.status];
  const channel = channels.get(run.id);
  return truncate(
    `${info.symbol} *${escapeMrkdwn(truncate(runTitle(run), 150))}* · \`${fitEncoded(run.id, 60, codeText)}\` · ${escapeMrkdwn(info.label)} · by ${mention(run.requestedBy)} · ${slackDate(run.updatedAt)}${channel ? ` · <#${channel}>` : ''}`,
    3000,
  );
}

const header = (text: string): Json => ({
  type: 'header',
  text: { type: 'plain_text', text, emoji: true },
});
const section = (text: string, blockId?: string): Json => ({
  type: 'section',
  ...(blockId ? { block_id: blockId } : {}),
  text: { type: 'mrkdwn', text },
});
const context = (text: string): Json => ({
  type: 'context',
  elements: [{ type: 'mrkdwn', text: truncate(text, 3000) }],
});

export function renderHome(input: HomeInput): Json {
  const { channels } = input;
  const blocks: Json[] = [header('Waiting for you')];
  if (input.waiting.length === 0) {
    blocks.push(context('Nothing waits for you now.'));
  }
  for (const run of input.waiting.slice(0, MAX_WAITING)) {
    const what =
      run.status === 'awaiting_plan_approval'
        ? 'approve its plan'
        : run.kind === 'destroy'
          ? 'confirm the destroy'
          : 'confirm the apply';
    const plan = run.plan !== null ? ` · plan ${planCounts(run.plan)}` : '';
    blocks.push(
      section(`${runLine(run, channels)}\nWaits for you to ${what}${escapeMrkdwn(plan)}.`),
    );
    // The run message's own buttons: same action ids, same values, same confirmations.
    const actions = renderRunMessage(run, { now: input.now }).blocks.find(
      (b) => b.type === 'actions',
    );
    if (actions !== undefined) blocks.push(actions as unknown as Json);
  }
  if (input.waiting.length > MAX_WAITING) {
    blocks.push(
      context(
        `…and ${input.waiting.length - MAX_WAITING} more: \`${input.command} status\` lists them.`,
      ),
    );
  }
  blocks.push({ type: 'divider' }, header('Your recent runs'));
  if (input.mine.length === 0)
    blocks.push(context(`You have no runs yet. \`${input.command}\` starts one.`));
  for (const run of input.mine.slice(0, MAX_LIST)) blocks.push(section(runLine(run, channels)));
  blocks.push({ type: 'divider' }, header('Running now'));
  if (input.running.length === 0) blocks.push(context('No run is active.'));
  for (const run of input.running.slice(0, MAX_LIST)) blocks.push(section(runLine(run, channels)));
  blocks.push(context(`Updated ${slackDate(input.now.toISOString())}`));
  return { type: 'home', callback_id: 'deploy_home', blocks: blocks.slice(0, VIEW_LIMITS.blocks) };
}
