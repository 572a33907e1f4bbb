// The bot's ephemeral answers to `/deploy …` and to clicks: what was wrong and
// the right usage, what happens next, lists and statuses. Pure: views in,
// Block Kit out, every part fitted to Slack's limits.

import type { DeploymentView, RunView } from '../../core/api/types.ts';
import { STATUS_TABLE } from '../../core/lifecycle/statuses.ts';
import { formatDuration } from '../../core/text/duration.ts';
import { planCounts } from '../../core/text/plan.ts';
import { stillNeeds } from '../../core/text/policy.ts';
import { type Block, mrkdwn, plainText, type RenderedMessage } from './blocks.ts';
import { codeText, fitEncoded, mention, mentionOf, slackDate } from './format.ts';
import { escapeMrkdwn, LIMITS, truncate } from './limits.ts';
import { renderLogChunks } from './plan-thread.ts';
import { type RefusalLike, refusalMrkdwn } from './refusal.ts';
import { renderRunMessage, runTitle } from './run-message.ts';

const SECTION = LIMITS.sectionText;

function section(text: string): Block {
  return { type: 'section', text: mrkdwn(truncate(text, SECTION)) };
}

function context(text: string): Block {
  return { type: 'context', elements: [mrkdwn(truncate(text, SECTION))] };
}

/**
 * The message's `text` (notifications, screen readers): what the blocks say, with
 * identifiers kept exactly as typed (`image_tag`, not `imagetag`); only `&<>` are
 * escaped, as Slack requires.
 */
function fallback(text: string): string {
  return fitEncoded(text, 300, escapeMrkdwn);
}

const code = (raw: string, max = 200) => `\`${fitEncoded(raw, max, codeText)}\``;
const esc = (raw: string, max: number) => fitEncoded(raw, max, escapeMrkdwn);

/** `lines` fitted into one section: as many as fit, then "…and N more". */
function fitLines(lines: readonly string[], max = SECTION - 80): string {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (used + line.length + 1 > max) {
      out.push(`…and ${lines.length - i} more`);
      break;
    }
    out.push(line);
    used += line.length + 1;
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------
// Problems

export type ProblemOptions = {
  /** Usage lines shown under the problem (plain text; escaped here). */
  readonly usage?: readonly string[];
  /** Individual problems (e.g. each invalid variable). */
  readonly details?: readonly string[];
  /** One more line of advice (mrkdwn, already escaped). */
  readonly hint?: string;
};

/** A problem's sentence as mrkdwn: a refusal in the bot's words, or text escaped. */
function problemMrkdwn(problem: string | RefusalLike, max: number): string {
  return typeof problem === 'string' ? esc(problem, max) : refusalMrkdwn(problem, max);
}

/** "✗ <what was wrong>", the details, the right usage. */
export function renderProblem(
  problem: string | RefusalLike,
  opts: ProblemOptions = {},
): RenderedMessage {
  const blocks: Block[] = [section(`✗ ${problemMrkdwn(problem, 1500)}`)];
  const details = opts.details ?? [];
  if (details.length > 1) {
    blocks.push(section(fitLines(details.map((d) => `• ${esc(d, 400)}`))));
  }
  if (opts.usage && opts.usage.length > 0) {
    blocks.push(
      section(
        `*Usage*\n${fitLines(
          opts.usage.map((u) => code(u, 400)),
          SECTION - 100,
        )}`,
      ),
    );
  }
  if (opts.hint) blocks.push(context(opts.hint));
  return { text: `✗ ${problemMrkdwn(problem, 298)}`, blocks };
}

export function renderErrorReply(what: string, error: string): RenderedMessage {
  return {
    text: fallback(`✗ ${what}: ${error}`),
    blocks: [
      section(`✗ *${esc(what, 300)}*\n${esc(error, 1500)}`),
      context('Nothing was changed by this request. Try again in a moment.'),
    ],
  };
}

// ---------------------------------------------------------------------------
// Runs

function queueLine(run: RunView): string | null {
  if (run.status !== 'queued' || run.queue === null) return null;
  const behind = run.queue.behind !== null ? ` behind run ${code(run.queue.behind, 80)}` : '';
  return `… *Queued*${behind} (position ${run.queue.position}): ${esc(run.deployment, 80)} is busy; this run starts by itself when the slot is free.`;
}

/** The answer to `/deploy NAME …` / `/deploy destroy NAME`: what happens next. */
export function renderRunAccepted(run: RunView, command: string): RenderedMessage {
  const what =
    run.kind === 'destroy'
      ? `*DESTROY* of *${esc(run.deployment, 100)}* (${esc(run.environment, 60)})`
      : `*${esc(run.deployment, 100)}* → ${esc(run.environment, 60)}`;
  const lines = [
    `✓ Run ${code(run.id, 80)} requested: ${what}.`,
    queueLine(run) ??
      `It is ${esc(STATUS_TABLE[run.status].label.toLowerCase(), 60)}: the plan is being made.`,
    run.kind === 'destroy'
      ? 'Next: the plan of what will be *removed* is posted in this channel, with the complete plan in its thread. It needs *Approve plan*, then a final *Destroy* confirmation by an approver.'
      : 'Next: the plan is posted in this channel, with the complete plan in its thread. It needs *Approve plan*, then *Apply* by an approver.',
  ];
  return {
    text: fallback(`Run ${run.id} requested: ${runTitle(run)}`),
    blocks: [
      section(lines.join('\n')),
      context(
        `Follow it with ${code(`${command} status ${run.id}`, 120)} · cancel with ${code(`${command} cancel ${run.id}`, 120)}`,
      ),
    ],
  };
}

function runRow(run: RunView): string {
  const info = STATUS_TABLE[run.status];
  const plan = run.plan !== null ? ` · ${planCounts(run.plan)}` : '';
  const kind = run.kind === 'destroy' ? ' *DESTROY*' : '';
  return `${info.symbol} ${code(run.id, 60)}${kind} ${esc(run.deployment, 60)} · *${esc(info.label, 60)}*${plan} · by ${mention(run.requestedBy)} ${slackDate(run.createdAt)}`;
}

/** A list of runs under a heading (`/deploy status`, `/deploy status NAME`). */
export function renderRunList(
  heading: string,
  runs: readonly RunView[],
  opts: { command: string; empty: string },
): RenderedMessage {
  const blocks: Block[] = [section(`*${esc(heading, 200)}*`)];
  if (runs.length === 0) blocks.push(section(esc(opts.empty, 500)));
  else blocks.push(section(fitLines(runs.map(runRow))));
  blocks.push(context(`One run in detail: ${code(`${opts.command} status <run-id>`, 120)}`));
  return { text: fallback(heading), blocks };
}

/** `/deploy status RUN`: the run as its message shows it, without buttons (they live on the run message). */
export function renderRunStatus(
  run: RunView,
  opts: { logTail?: readonly string[]; command: string; now?: Date },
): RenderedMessage {
  const message = renderRunMessage(run, {
    ...(opts.logTail ? { logTail: opts.logTail } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const blocks: Block[] = message.blocks.filter((b) => b.type !== 'actions');
  const where =
    run.channel !== null
      ? `The run message with its buttons is in <#${run.channel.replace(/[^A-Z0-9]/g, '')}>.`
      : `Requested via ${run.requestedVia}.`;
  blocks.push(
    context(
      `${where} Logs: ${code(`${opts.command} logs ${run.id}`, 120)}${STATUS_TABLE[run.status].cancellable ? ` · cancel: ${code(`${opts.command} cancel ${run.id}`, 120)}` : ''}`,
    ),
  );
  return { text: message.text, blocks };
}

function deploymentLine(d: DeploymentView): string {
  const active = d.state.active;
  const state =
    active !== null
      ? `*running* ${code(active.id, 60)} (${esc(STATUS_TABLE[active.status].label.toLowerCase(), 40)}, ${formatDuration(active.durationSeconds * 1000)})`
      : 'idle';
  const extra = [
    d.state.queued > 0 ? `${d.state.queued} queued` : null,
    d.state.awaiting > 0 ? `${d.state.awaiting} awaiting approval` : null,
    d.state.freeze ? `❄ frozen until ${slackDate(d.state.freeze.endsAt)}` : null,
    d.state.locks.length > 0 ? `🔒 locked by ${mention(d.state.locks[0]!.by)}` : null,
  ].filter((x): x is string => x !== null);
  const description = d.description ? ` — ${esc(d.description, 100)}` : '';
  return `• ${code(d.name, 64)} (${esc(d.environment, 40)}): ${state}${extra.length > 0 ? ` · ${extra.join(', ')}` : ''}${description}`;
}

/** `/deploy list`: the deployments one may run here, with their state. */
export function renderDeploymentList(
  deployments: readonly DeploymentView[],
  opts: { command: string },
): RenderedMessage {
  if (deployments.length === 0) {
    return renderProblem('no deployment can be run from this channel', {
      hint: 'Each deployment’s `channels` in the config says where it may be run from.',
    });
  }
  return {
    text: fallback(`${deployments.length} deployment(s) you can run here`),
    blocks: [
      section(`*Deployments you can run here* (${deployments.length})`),
      section(fitLines(deployments.map(deploymentLine))),
      context(
        `Run one: ${code(`${opts.command} <deployment> [name=value …]`, 120)} · its variables: ${code(`${opts.command} help <deployment>`, 120)}`,
      ),
    ],
  };
}

/** `/deploy logs RUN N`: the last lines, as many as one message holds. */
export function renderLogsReply(
  run: RunView,
  lines: readonly string[],
  opts: { requested: number; command: string },
): RenderedMessage {
  const count =
    lines.length < opts.requested
      ? `all ${lines.length} line${lines.length === 1 ? '' : 's'}`
      : `last ${lines.length} line${lines.length === 1 ? '' : 's'}`;
  const title = `*Log of* ${code(run.id, 60)} (${esc(run.deployment, 60)}, ${esc(STATUS_TABLE[run.status].label.toLowerCase(), 40)}): ${count}`;
  const chunks = renderLogChunks(lines, { title });
  // One message holds three full sections (Slack: about 12,000 characters in all).
  const kept = chunks.slice(-3);
  const blocks: Block[] = kept.map((chunk) => section(chunk));
  if (kept.length < chunks.length) {
    blocks.unshift(
      context(
        `Earlier lines left out to fit one message: ask for fewer (${code(`${opts.command} logs ${run.id} 50`, 120)}), or run \`deploy-bot logs ${codeText(run.id)}\` for all of them.`,
      ),
    );
  }
  if (lines.length === 0) blocks.push(context('No log lines yet.'));
  return { text: fallback(`Log of ${run.id}`), blocks };
}

export function renderCancelled(run: RunView): RenderedMessage {
  return {
    text: fallback(`Run ${run.id} cancelled`),
    blocks: [
      section(
        `⊘ Run ${code(run.id, 80)} (${esc(run.deployment, 80)}) is cancelled${run.cancel ? `: ${esc(run.cancel.reason, 300)}` : ''}. Nothing in the cloud was changed by it.`,
      ),
    ],
  };
}

/** A refused click: the reason, and what the run is doing now. */
export function renderClickRefused(
  problem: string | RefusalLike,
  run: RunView | null,
): RenderedMessage {
  const now =
    run !== null
      ? `Run ${code(run.id, 80)} is *${esc(STATUS_TABLE[run.status].label.toLowerCase(), 60)}*; its message now shows that.`
      : null;
  // What the decision still needs, with the people and groups mentioned.
  const refusal = typeof problem === 'string' ? null : problem;
  const needs = refusal ? stillNeeds(refusal.code, refusal.details, mentionOf) : '';
  const needsText = refusal ? stillNeeds(refusal.code, refusal.details) : '';
  return {
    text:
      refusal !== null && needsText !== ''
        ? fallback(`✗ ${refusal.message}${needsText}`)
        : `✗ ${problemMrkdwn(problem, 298)}`,
    blocks: [section(`✗ ${problemMrkdwn(problem, 1500)}${needs}`), ...(now ? [context(now)] : [])],
  };
}

/**
 * A plainer run message for when Slack refused the full one: the header, the
 * status, the buttons. (The renderer keeps to Slack's limits; this is the net
 * under it.)
 */
export function renderFallbackMessage(
  run: RunView,
  original: RenderedMessage,
  error: string,
): RenderedMessage {
  const info = STATUS_TABLE[run.status];
  const id = (name: string) => truncate(`${name}:${run.id}`, LIMITS.blockId);
  const blocks: Block[] = [
    {
      type: 'header',
      block_id: id('header'),
      text: plainText(truncate(runTitle(run), LIMITS.headerText)),
    },
    {
      type: 'section',
      block_id: id('fields'),
      fields: [mrkdwn(truncate(`*Status*\n${info.symbol} ${esc(info.label, 100)}`, 300))],
    },
    {
      type: 'section',
      block_id: id('status'),
      text: mrkdwn(
        `Run ${code(run.id, 80)} (v${run.version})${run.plan ? `\n*Plan:* ${planCounts(run.plan)}` : ''}`,
      ),
    },
    {
      type: 'context',
      block_id: id('context'),
      elements: [
        mrkdwn(`Details could not be shown: Slack refused the message (${esc(error, 200)}).`),
      ],
    },
  ];
  const actions = original.blocks.find((b) => b.type === 'actions');
  if (actions) blocks.push(actions);
  return { text: original.text, blocks };
}
