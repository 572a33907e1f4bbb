// The one Slack message that shows a run: posted when the run is requested and
// replaced (chat.update) on every change. Pure: RunView in, blocks out. Every
// part has a character budget so the message stays inside Slack's limits
// however large the plan, the error, the variables or the log are.

import type {
  ApprovalStage,
  ApprovalView,
  ChangeAction,
  PlanView,
  RecoveryStep,
  RunView,
} from '../../core/api/types.ts';
import { type Decision, decisionsAt } from '../../core/lifecycle/decisions.ts';
import {
  assertNever,
  isTerminal,
  type RunStatus,
  STATUS_TABLE,
} from '../../core/lifecycle/statuses.ts';
import { formatDuration } from '../../core/text/duration.ts';
import { planCounts } from '../../core/text/plan.ts';
import { approvalEntryText, isSingleApproval, stageSummary } from '../../core/text/policy.ts';
import { type RuleLine, ruleLines } from '../../core/text/rules.ts';
import { variablesWithSources } from '../../core/variables/sources.ts';
import {
  ACTION_IDS,
  AGAIN_ACTION_IDS,
  encodeButtonValue,
  encodeNoteOption,
  NOTE_ACTION_ID,
} from './actions.ts';
import {
  type Block,
  type ButtonElement,
  type ConfirmDialog,
  mrkdwn,
  type OverflowElement,
  plainText,
  type RenderedMessage,
  type SectionBlock,
} from './blocks.ts';
import {
  codeExcerpt,
  codeText,
  fitEncoded,
  inlineValue,
  logTailBlock,
  mention,
  mentionOf,
  slackDate,
  sourceText,
} from './format.ts';
import { holdsText } from './holds.ts';
import { blocksTextLength, escapeMrkdwn, LIMITS, truncate } from './limits.ts';

export type RunMessageOptions = {
  /** The latest log lines of the run, oldest first (only the end is shown). */
  readonly logTail?: readonly string[];
  /** The current time, for the running duration of an unfinished run. */
  readonly now?: Date;
};

/** Character budgets of the message's parts; their sum stays well under 12,000. */
export const RUN_MESSAGE_BUDGET = {
  fallbackText: 300,
  field: 300,
  variables: 1200,
  variableValue: 100,
  plan: 2600,
  address: 150,
  detail: 700,
  error: 1500,
  hint: 500,
  outputs: 1200,
  outputValue: 200,
  log: 1800,
  logLine: 300,
  /** A freeze and the locks holding the run. */
  holds: 900,
  context: 300,
  /** Each stage's approvals (and what its policy still needs). */
  approvals: 1500,
  /** The rules that matched on a run waiting for a decision. */
  rules: 900,
  /** The whole message: a final guard shortens the longest section past this. */
  total: 11_500,
} as const;

const CHANGE_ORDER: readonly ChangeAction[] = ['delete', 'replace', 'update', 'create'];
const CHANGE_HEADING: { readonly [A in ChangeAction]: string } = {
  delete: 'To destroy',
  replace: 'To replace (destroy, then create)',
  update: 'To change',
  create: 'To add',
};

// ---------------------------------------------------------------------------
// Small pieces

function blockId(run: RunView, name: string): string {
  return truncate(`${name}:${run.id}`, LIMITS.blockId);
}

/** "Deploy web-prod → production" / "DESTROY web-prod (production)", at most 150 characters. */
export function runTitle(run: RunView): string {
  const deployment = truncate(run.deployment, 70);
  const environment = truncate(run.environment, 60);
  return run.kind === 'destroy'
    ? `DESTROY ${deployment} (${environment})`
    : `Deploy ${deployment} → ${environment}`;
}

function statusText(status: RunStatus): string {
  const info = STATUS_TABLE[status];
  return `${info.symbol} ${info.label}`;
}

function stageApprovals(run: RunView, stage: ApprovalStage): ApprovalView[] {
  const planId = run.plan?.id ?? null;
  return run.approvals.filter((a) => a.stage === stage && (planId === null || a.planId === planId));
}

function approvalLine(run: RunView, approval: ApprovalView, what: string): string {
  const note =
    approval.note !== null && approval.note !== undefined
      ? `: “${escapeMrkdwn(truncate(approval.note, 300))}”`
      : '';
  const entry = approvalEntryText(run.policy, approval, mentionOf);
  return `${what} by ${mention(approval.by)} via ${approval.via}, ${slackDate(approval.at)}${entry ? ` (${entry})` : ''}${note}`;
}

const APPROVED: Record<ApprovalStage, (run: RunView) => string> = {
  plan: () => 'Plan approved',
  apply: (run) => (run.kind === 'destroy' ? 'Destroy confirmed' : 'Apply confirmed'),
};

/**
 * A stage's lines: "Plan approvals 1 of 2: still needs 1 from @sre" when its
 * policy is more than one approval, then each approval with the entry it
 * counted for; fitted into the approvals budget.
 */
function approvalLines(run: RunView, stage: ApprovalStage, withSummary: boolean): string[] {
  const view = run.policy?.[stage];
  const summary =
    withSummary && view && !isSingleApproval(view) ? [stageSummary(stage, view, mentionOf)] : [];
  const lines = stageApprovals(run, stage).map((a) => approvalLine(run, a, APPROVED[stage](run)));
  return fitLines(
    [...summary, ...lines],
    RUN_MESSAGE_BUDGET.approvals,
    (n) => `…and ${n} more approvals`,
  );
}

const RULE_MARK: Record<RuleLine['kind'], string> = {
  refuses: '⛔',
  requires: '➕',
  warns: '⚠️',
  'dry-run': '🧪',
};

/** The rules that matched (or failed) on a run waiting for a decision, fitted into their budget. */
function ruleMessageLines(run: RunView): string[] {
  const lines = ruleLines(run.policy?.rules).map(
    (r) => `${RULE_MARK[r.kind]} ${escapeMrkdwn(truncate(r.text, 300))}`,
  );
  return fitLines(lines, RUN_MESSAGE_BUDGET.rules, (n) => `…and ${n} more rules`);
}

function durationOf(run: RunView, now: Date | undefined): number {
  if (run.finishedAt !== null || now === undefined) return run.durationSeconds;
  const started = Date.parse(run.createdAt);
  if (Number.isNaN(started)) return run.durationSeconds;
  return Math.max(run.durationSeconds, (now.getTime() - started) / 1000);
}

function section(run: RunView, name: string, text: string): SectionBlock {
  return {
    type: 'section',
    block_id: blockId(run, name),
    text: mrkdwn(truncate(text, LIMITS.sectionText)),
  };
}

// ---------------------------------------------------------------------------
// Variables, plan, outputs

/**
 * As many of `lines` as fit `budget` characters (newlines counted), ending with
 * `more(n)` for the n lines left out.
 */
function fitLines(lines: readonly string[], budget: number, more: (n: number) => string): string[] {
  const total = lines.reduce((sum, line) => sum + line.length + 1, 0);
  if (total <= budget) return [...lines];
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (used + line.length + 1 + more(lines.length - i - 1).length + 1 > budget) {
      out.push(more(lines.length - i));
      break;
    }
    out.push(line);
    used += line.length + 1;
  }
  return out;
}

/** "`name` = value" lines under a heading, fitted into `budget`. */
function namedValues(
  heading: string,
  entries: readonly (readonly [string, unknown])[],
  budget: number,
  valueMax: number,
): string {
  const lines = entries.map(
    ([name, value]) => `\`${fitEncoded(name, 64, codeText)}\` = ${inlineValue(value, valueMax)}`,
  );
  return [heading, ...fitLines(lines, budget - heading.length, (n) => `…and ${n} more`)].join('\n');
}

function variablesText(run: RunView): string | null {
  const entries = variablesWithSources(run.variables, run.variableSources);
  if (entries.length === 0) return null;
  return namedValues(
    '*Variables*',
    entries,
    RUN_MESSAGE_BUDGET.variables,
    RUN_MESSAGE_BUDGET.variableValue,
  );
}

/** Splits `total` among wants: small wants get all they ask, the rest share what is left. */
function fairShares(wants: readonly number[], total: number): number[] {
  const shares = wants.map(() => 0);
  const order = wants.map((want, index) => ({ want, index })).sort((a, b) => a.want - b.want);
  let left = total;
  order.forEach(({ want, index }, i) => {
    const share = Math.min(want, Math.floor(left / (order.length - i)));
    shares[index] = share;
    left -= share;
  });
  return shares;
}

function planText(plan: PlanView): string {
  const head = `*Plan:* ${planCounts(plan)}`;
  if (!plan.known) {
    return `${head}\n_The plan step wrote no changes document, so what will change is not known here; read the full plan in the thread._`;
  }
  if (plan.changes.length === 0) return `${head}\n_No resource changes listed._`;
  const groups = CHANGE_ORDER.map((action) => ({
    action,
    lines: plan.changes
      .filter((c) => c.action === action)
      .map((c) => `• \`${fitEncoded(c.address, RUN_MESSAGE_BUDGET.address, codeText)}\``),
  })).filter((g) => g.lines.length > 0);
  const headings = groups.map((g) => `*${CHANGE_HEADING[g.action]} (${g.lines.length})*`);
  const wants = groups.map(
    (g, i) => headings[i]!.length + g.lines.reduce((sum, line) => sum + line.length + 1, 0),
  );
  const room = RUN_MESSAGE_BUDGET.plan - head.length - groups.length * 2;
  const shares = fairShares(wants, room);
  const parts = [head];
  groups.forEach((group, gi) => {
    const heading = headings[gi]!;
    const lines = fitLines(
      group.lines,
      shares[gi]! - heading.length,
      (n) => `…and ${n} more (full plan in the thread)`,
    );
    parts.push([heading, ...lines].join('\n'));
  });
  return parts.join('\n');
}

function outputsText(outputs: Readonly<Record<string, unknown>> | null): string | null {
  if (outputs === null) return null;
  const entries = Object.entries(outputs);
  if (entries.length === 0) return null;
  return namedValues(
    '*Outputs*',
    entries,
    RUN_MESSAGE_BUDGET.outputs,
    RUN_MESSAGE_BUDGET.outputValue,
  );
}

// ---------------------------------------------------------------------------
// Buttons

function buttonValue(run: RunView): string {
  return encodeButtonValue({ runId: run.id, version: run.version, planId: run.plan?.id ?? null });
}

function confirmDialog(
  title: string,
  text: string,
  confirm: string,
  deny: string,
  danger: boolean,
): ConfirmDialog {
  return {
    title: plainText(truncate(title, LIMITS.confirmTitle)),
    text: plainText(truncate(text, LIMITS.confirmText)),
    confirm: plainText(truncate(confirm, LIMITS.confirmButton)),
    deny: plainText(truncate(deny, LIMITS.confirmButton)),
    ...(danger ? { style: 'danger' as const } : {}),
  };
}

function cancelButton(run: RunView): ButtonElement {
  return {
    type: 'button',
    action_id: ACTION_IDS.cancelRun,
    text: plainText('Cancel'),
    value: buttonValue(run),
    confirm: confirmDialog(
      'Cancel this run?',
      `The run of ${run.deployment} (${run.environment}) ends as cancelled. Nothing in the cloud changes.`,
      'Cancel run',
      'Keep it',
      false,
    ),
  };
}

function approvePlanButton(run: RunView): ButtonElement {
  return {
    type: 'button',
    action_id: ACTION_IDS.approvePlan,
    text: plainText('Approve plan'),
    style: 'primary',
    value: buttonValue(run),
  };
}

/** "…: a, b, c, …and N more" fitted into `max` characters. */
function listWithin(prefix: string, items: readonly string[], suffix: string, max: number): string {
  const render = (shown: number): string => {
    const more = items.length - shown;
    const list = items.slice(0, shown).join(', ');
    const tail = more > 0 ? `${shown > 0 ? ', ' : ''}…and ${more} more` : '';
    return `${prefix}${list}${tail}${suffix}`;
  };
  // Grow while it fits (items are short, so this stops after a few).
  let shown = 0;
  while (shown < items.length && render(shown + 1).length <= max) shown += 1;
  return truncate(render(shown), max);
}

function applyButton(run: RunView): ButtonElement {
  const plan = run.plan;
  const where = `${run.deployment} (${run.environment})`;
  if (run.kind === 'destroy') {
    const removed = plan?.changes.filter((c) => c.action === 'delete').map((c) => c.address) ?? [];
    const count = plan?.known
      ? `${plan.destroy} resource${plan.destroy === 1 ? '' : 's'}`
      : 'every resource';
    const text = listWithin(
      `This permanently removes ${count} of ${where}${removed.length > 0 ? ': ' : ''}`,
      removed.map((a) => truncate(a, 80)),
      `. ${plan ? planCounts(plan) : 'counts unknown'}. This cannot be undone.`,
      LIMITS.confirmText,
    );
    return {
      type: 'button',
      action_id: ACTION_IDS.confirmApply,
      text: plainText('Destroy'),
      style: 'danger',
      value: buttonValue(run),
      confirm: confirmDialog(`Destroy ${run.deployment}?`, text, 'Destroy', 'Not now', true),
    };
  }
  const destroys =
    plan?.known && plan.destroy > 0
      ? ` It destroys ${plan.destroy} resource${plan.destroy === 1 ? '' : 's'}.`
      : '';
  return {
    type: 'button',
    action_id: ACTION_IDS.confirmApply,
    text: plainText('Apply'),
    style: 'primary',
    value: buttonValue(run),
    confirm: confirmDialog(
      `Apply to ${run.environment}?`,
      `Apply the approved plan to ${where}: ${plan ? planCounts(plan) : 'counts unknown'}.${destroys}`,
      'Apply',
      'Not now',
      plan?.known === true && plan.destroy > 0,
    ),
  };
}

// ---------------------------------------------------------------------------
// Per-status detail

type Detail = {
  readonly sections: readonly (readonly [string, string])[];
};

const DECISION_BUTTON: Record<Decision, (run: RunView) => ButtonElement> = {
  approve_plan: approvePlanButton,
  confirm_apply: applyButton,
  cancel: cancelButton,
};

/**
 * The buttons of a run's message: the decisions its status offers (the
 * status table), while it waits for a person. Who may press them is the
 * core's check when they do; a working run is cancelled with /deploy cancel.
 */
function decisionButtons(run: RunView): ButtonElement[] {
  const decisions = decisionsAt(run.status);
  if (!decisions.some((d) => d !== 'cancel')) return [];
  return decisions.map((d) => DECISION_BUTTON[d](run));
}

/** The bot's words for a recovery step: where it is in Slack (the thread, a button). */
function recoveryStepText(step: RecoveryStep): string {
  switch (step.kind) {
    case 'see_logs':
      return 'The whole log is in this message’s thread.';
    case 'save_logs':
      return 'Save the whole log (in this message’s thread) before anything else.';
    case 'run_again':
      return step.runKind === 'execute'
        ? '*Run again* starts a new run with the same variables.'
        : 'Request the destroy again to start over.';
  }
}

function failureSections(
  run: RunView,
  opts: RunMessageOptions,
  headline: string,
): [string, string][] {
  const sections: [string, string][] = [];
  const phase = run.failedPhase ?? run.currentPhase;
  sections.push(['status', `${headline}${phase !== null ? `\n*Failed phase:* ${phase}` : ''}`]);
  if (run.error !== null && run.error.length > 0) {
    sections.push(['error', `*Error*\n${codeExcerpt(run.error, RUN_MESSAGE_BUDGET.error - 8)}`]);
  }
  const hint = run.recoveryHint?.text ?? STATUS_TABLE[run.status].action;
  const steps = (run.recoveryHint?.steps ?? []).map(recoveryStepText);
  sections.push([
    'hint',
    `*What to do:* ${fitEncoded(hint, RUN_MESSAGE_BUDGET.hint - 16, escapeMrkdwn)}${steps.length > 0 ? `\n${steps.join(' ')}` : ''}`,
  ]);
  const log = opts.logTail ?? [];
  if (log.length > 0) {
    sections.push([
      'log',
      `*Log (latest lines)*\n${logTailBlock(log, RUN_MESSAGE_BUDGET.log, RUN_MESSAGE_BUDGET.logLine)}`,
    ]);
  }
  return sections;
}

function progressSections(
  run: RunView,
  opts: RunMessageOptions,
  headline: string,
): [string, string][] {
  const lines = [
    headline,
    ...approvalLines(run, 'plan', false),
    ...approvalLines(run, 'apply', false),
  ];
  const sections: [string, string][] = [['status', lines.join('\n')]];
  const log = opts.logTail ?? [];
  if (log.length > 0) {
    sections.push([
      'log',
      `*Log (latest lines)*\n${logTailBlock(log, RUN_MESSAGE_BUDGET.log, RUN_MESSAGE_BUDGET.logLine)}`,
    ]);
  }
  return sections;
}

function detailFor(run: RunView, opts: RunMessageOptions, duration: string): Detail {
  const where = `*${escapeMrkdwn(run.deployment)}* (${fitEncoded(run.environment, 100, escapeMrkdwn)})`;
  const status = run.status;
  switch (status) {
    case 'queued': {
      const q = run.queue;
      const behind =
        q?.behind !== null && q?.behind !== undefined
          ? ` behind run \`${fitEncoded(q.behind, 100, codeText)}\``
          : '';
      const position = q !== null ? `, position ${q.position} in the queue` : '';
      return {
        sections: [['status', `… *Queued*${behind}${position}. It starts when the slot is free.`]],
      };
    }
    case 'pending':
    case 'initializing':
      return {
        sections: progressSections(run, opts, `◌ Preparing the run for ${where}…`),
      };
    case 'planning':
      return {
        sections: progressSections(
          run,
          opts,
          `◐ Planning: generating the preview of every change…`,
        ),
      };
    case 'awaiting_plan_approval':
      return {
        sections: [
          [
            'status',
            [
              `⏸ *Plan approval needed.* Review the plan (the complete plan is in the thread), then approve or cancel.`,
              ...approvalLines(run, 'plan', true),
              ...ruleMessageLines(run),
            ].join('\n'),
          ],
        ],
      };
    case 'awaiting_apply_approval': {
      const approved = approvalLines(run, 'plan', false);
      const final =
        run.kind === 'destroy'
          ? `⏸ *Final confirmation:* destroying removes the resources of ${where}. This cannot be undone.`
          : `⏸ *Final confirmation before changes* to ${where}.`;
      const lines = [
        ...(approved.length > 0 ? approved : ['Plan approved.']),
        final,
        ...approvalLines(run, 'apply', true),
        ...ruleMessageLines(run),
      ];
      return { sections: [['status', lines.join('\n')]] };
    }
    case 'applying':
      return {
        sections: progressSections(run, opts, `▶ *Applying changes* to ${where}…`),
      };
    case 'destroying':
      return {
        sections: progressSections(run, opts, `▶ *Destroying* the resources of ${where}…`),
      };
    case 'verifying':
      return {
        sections: progressSections(run, opts, `◐ *Verifying* the deployment of ${where}…`),
      };
    case 'rolling_back':
      return {
        sections: progressSections(
          run,
          opts,
          `↺ *Verify failed: rolling back* ${where} to the previous version… The change did not succeed.`,
        ),
      };
    case 'completed': {
      const sections: [string, string][] = [
        ['status', `✓ *Completed* in ${duration}: ${where} is updated.`],
      ];
      const outputs = outputsText(run.outputs);
      if (outputs !== null) sections.push(['outputs', outputs]);
      return { sections };
    }
    case 'destroyed':
      return {
        sections: [
          ['status', `✓ *Destroyed* in ${duration}: all resources of ${where} were removed.`],
        ],
      };
    case 'no_changes':
      return {
        sections: [
          ['status', `= *No changes:* the plan found nothing to change, so nothing was applied.`],
        ],
      };
    case 'failed':
      return {
        sections: failureSections(
          run,
          opts,
          `✗ *Failed* after ${duration}. No further changes were made beyond what had already been applied.`,
        ),
      };
    case 'rolled_back':
      return {
        sections: failureSections(
          run,
          opts,
          `↺ ✗ *Failed, rolled back.* Verification failed and the previous version was restored: this change was *not* deployed.`,
        ),
      };
    case 'rollback_failed':
      return {
        sections: failureSections(
          run,
          opts,
          `‼ ✗ *Rollback failed: manual intervention needed.* Save the diagnostics (error and log below) before changing anything.`,
        ),
      };
    case 'cancelled': {
      const c = run.cancel;
      const by = c !== null ? ` by ${mention(c.by)}` : '';
      const why =
        c !== null && c.reason.length > 0 ? `: ${fitEncoded(c.reason, 400, escapeMrkdwn)}` : '';
      return {
        sections: [
          ['status', `⊘ *Cancelled*${by}${why}\nNothing in the cloud was changed by this run.`],
        ],
      };
    }
    default:
      return assertNever(status);
  }
}

// ---------------------------------------------------------------------------
// Final guard

/** Shortens the longest section texts until the whole message fits `max` (should not be needed). */
function shrinkToFit(blocks: Block[], max: number): Block[] {
  let total = blocksTextLength(blocks);
  for (let guard = 0; total > max && guard < 100; guard++) {
    let longest = -1;
    let length = 0;
    blocks.forEach((block, i) => {
      if (block.type === 'section' && block.text !== undefined && block.text.text.length > length) {
        longest = i;
        length = block.text.text.length;
      }
    });
    const block = blocks[longest];
    if (block === undefined || block.type !== 'section' || block.text === undefined) break;
    const target = Math.max(1, length - (total - max) - 8);
    let text = truncate(block.text.text, target);
    if ((text.match(/```/g)?.length ?? 0) % 2 === 1)
      text = `${truncate(text, Math.max(1, target - 4))}\n\`\`\``;
    blocks[longest] = { ...block, text: mrkdwn(text) };
    total = blocksTextLength(blocks);
  }
  return blocks;
}

// ---------------------------------------------------------------------------

/** "Approve with a note" / "Confirm with a note" and "Cancel with a reason" while a run waits for a person. */
function noteMenu(run: RunView): OverflowElement | null {
  const value = { runId: run.id, version: run.version, planId: run.plan?.id ?? null };
  const decide =
    run.status === 'awaiting_plan_approval'
      ? { text: 'Approve with a note', kind: 'approve_plan' as const }
      : run.status === 'awaiting_apply_approval'
        ? {
            text: run.kind === 'destroy' ? 'Destroy with a note' : 'Apply with a note',
            kind: 'confirm_apply' as const,
          }
        : null;
  if (decide === null) return null;
  return {
    type: 'overflow',
    action_id: NOTE_ACTION_ID,
    options: [
      { text: plainText(decide.text), value: encodeNoteOption(decide.kind, value) },
      { text: plainText('Cancel with a reason'), value: encodeNoteOption('cancel_run', value) },
    ].filter((o) => o.value.length <= 150),
  };
}

export function renderRunMessage(run: RunView, opts: RunMessageOptions = {}): RenderedMessage {
  const info = STATUS_TABLE[run.status];
  const title = runTitle(run);
  const duration = formatDuration(durationOf(run, opts.now) * 1000);
  const fieldMax = RUN_MESSAGE_BUDGET.field;

  const blocks: Block[] = [
    {
      type: 'header',
      block_id: blockId(run, 'header'),
      text: plainText(truncate(`${title}`, LIMITS.headerText)),
    },
  ];

  const phase =
    run.currentPhase ?? (run.failedPhase !== null ? `${run.failedPhase} (failed)` : '—');
  blocks.push({
    type: 'section',
    block_id: blockId(run, 'fields'),
    fields: [
      mrkdwn(
        truncate(`*Requested by*\n${mention(run.requestedBy)} via ${run.requestedVia}`, fieldMax),
      ),
      mrkdwn(truncate(`*Status*\n${statusText(run.status)}`, fieldMax)),
      mrkdwn(truncate(`*Phase*\n${phase}`, fieldMax)),
      mrkdwn(`*Source*\n${sourceText(run.sourceSummary, fieldMax - 12)}`),
      mrkdwn(`*Duration*\n${duration}`),
      mrkdwn(`*Run*\n\`${fitEncoded(run.id, 100, codeText)}\` (v${run.version})`),
    ],
  });

  const variables = variablesText(run);
  if (variables !== null) blocks.push(section(run, 'variables', variables));
  if (run.plan !== null) blocks.push(section(run, 'plan', planText(run.plan)));

  const detail = detailFor(run, opts, duration);
  const buttons = decisionButtons(run);
  for (const [name, text] of detail.sections) blocks.push(section(run, name, text));
  const holds = holdsText(run, RUN_MESSAGE_BUDGET.holds);
  if (holds !== null) blocks.push(section(run, 'holds', holds));
  // A finished deployment can be run again with the same variables (a new run, both approvals).
  const again: ButtonElement[] =
    isTerminal(run.status) && run.kind === 'execute'
      ? [
          {
            type: 'button',
            action_id: AGAIN_ACTION_IDS.runAgain,
            text: plainText('Run again'),
            value: buttonValue(run),
          },
        ]
      : [];
  const more = noteMenu(run);
  if (buttons.length + again.length > 0) {
    blocks.push({
      type: 'actions',
      block_id: blockId(run, 'actions'),
      elements: [...buttons, ...again, ...(more !== null ? [more] : [])],
    });
  }

  const context = [
    `${info.symbol} ${info.label}`,
    `next: ${info.action}`,
    `updated ${slackDate(run.updatedAt)}`,
  ];
  blocks.push({
    type: 'context',
    block_id: blockId(run, 'context'),
    elements: [mrkdwn(truncate(context.join(' · '), RUN_MESSAGE_BUDGET.context))],
  });

  const text = fitEncoded(
    `${info.symbol} ${title}: ${info.label}${buttons.length > 0 ? ' (action needed)' : ''}`,
    RUN_MESSAGE_BUDGET.fallbackText,
    escapeMrkdwn,
  );
  return { text, blocks: shrinkToFit(blocks, RUN_MESSAGE_BUDGET.total) };
}
