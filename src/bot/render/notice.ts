// What the people who may decide a run's step are told: a threaded reply under
// the run message that mentions them, or a direct message with the run
// message's own buttons, which, once the step is decided, says who decided
// and has no buttons any more. Pure, within Block Kit's limits.

import type { RunView } from '../../core/api/types.ts';
import { type Block, mrkdwn, type RenderedMessage } from './blocks.ts';
import { codeText, fitEncoded, mention, mentionOf } from './format.ts';
import { escapeMrkdwn, LIMITS, truncate } from './limits.ts';
import { renderRunMessage, runTitle } from './run-message.ts';

/** The step a run waits on a person for; null when it does not wait. */
export function stepOf(run: RunView): string | null {
  if (run.status !== 'awaiting_plan_approval' && run.status !== 'awaiting_apply_approval')
    return null;
  return `${run.status}:${run.plan?.id ?? ''}`;
}

/** "approve its plan" / "confirm the apply" / "confirm the destroy". */
function stepWhat(step: string, run: RunView): string {
  if (step.startsWith('awaiting_plan_approval')) return 'approve its plan';
  return run.kind === 'destroy' ? 'confirm the destroy' : 'confirm the apply';
}

const runRef = (run: RunView) =>
  `\`${fitEncoded(run.id, 60, codeText)}\` (${escapeMrkdwn(truncate(runTitle(run), 150))})`;

export function renderThreadNotice(
  run: RunView,
  step: string,
  who: readonly string[],
  reminder = false,
): string {
  const mentions = who.map(mentionOf).join(' ');
  const lead = reminder ? 'Still waiting: run' : 'Run';
  return truncate(
    `${mentions}${mentions ? ': ' : ''}${lead} ${runRef(run)} waits for one of you to ${stepWhat(step, run)}.`,
    LIMITS.sectionText,
  );
}

/** The DM to one approver: a line saying why, then the run message with its buttons. */
export function renderDmNotice(run: RunView, step: string, channel: string): RenderedMessage {
  const message = renderRunMessage(run, { now: new Date() });
  const lead: Block = {
    type: 'section',
    block_id: `notice:${run.id}`.slice(0, LIMITS.blockId),
    text: mrkdwn(
      truncate(
        `Run ${runRef(run)} in <#${channel}> waits for you to ${stepWhat(step, run)}.`,
        LIMITS.sectionText,
      ),
    ),
  };
  return {
    text: truncate(
      `${run.deployment}: run ${run.id} waits for you to ${stepWhat(step, run)}`,
      3000,
    ),
    blocks: [lead, ...message.blocks].slice(0, LIMITS.blocks),
  };
}

/** Who decided the step (or what became of it), as mrkdwn. */
export function decidedText(run: RunView, step: string): string {
  const planId = step.split(':')[1] ?? '';
  const stage = step.startsWith('awaiting_plan_approval') ? 'plan' : 'apply';
  // A policy may need several people: all of them (a few; the rest counted).
  const by = run.approvals
    .filter((a) => a.stage === stage && a.planId === planId)
    .map((a) => mention(a.by));
  if (by.length > 0) {
    const shown =
      by.length > 10 ? `${by.slice(0, 10).join(', ')} and ${by.length - 10} more` : by.join(', ');
    return stage === 'plan'
      ? `plan approved by ${shown}`
      : `${run.kind === 'destroy' ? 'destroy' : 'apply'} confirmed by ${shown}`;
  }
  if (run.cancel !== null) return `cancelled by ${mention(run.cancel.by)}`;
  return `no longer waiting: the run is ${escapeMrkdwn(run.statusLabel.toLowerCase())}`;
}

/** The DM once the step is decided: who decided, no buttons. */
export function renderDmDecided(run: RunView, step: string, channel: string): RenderedMessage {
  const decided = decidedText(run, step);
  return {
    text: truncate(`${run.deployment}: run ${run.id}: ${decided}`, 3000),
    blocks: [
      {
        type: 'section',
        block_id: `notice:${run.id}`.slice(0, LIMITS.blockId),
        text: mrkdwn(
          truncate(
            `Run ${runRef(run)}: ${decided}. It goes on in <#${channel}>.`,
            LIMITS.sectionText,
          ),
        ),
      },
    ],
  };
}

export function renderDmReminder(run: RunView, step: string): string {
  return truncate(`Still waiting: run ${runRef(run)} needs you to ${stepWhat(step, run)}.`, 3000);
}
