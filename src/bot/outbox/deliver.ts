// One delivery step of a run's Slack message: post it (the first time) or
// update it in place, and post the complete plan and, for a failed run, the
// full log into its thread. Every Slack call goes through `call`, which turns
// a failure into a SlackCallError the outbox schedules a retry for. Progress is
// stored after each call, so a retry continues where the last attempt stopped.

import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { LogLine, RunView } from '../../core/api/types.ts';
import type { RunStatus } from '../../core/lifecycle/statuses.ts';
import type { Log } from '../log.ts';
import type { BotPort } from '../port.ts';
import type { RenderedMessage } from '../render/blocks.ts';
import { codeText, fitEncoded } from '../render/format.ts';
import { renderLogChunks, renderPlanChunks } from '../render/plan-thread.ts';
import { renderFallbackMessage } from '../render/replies.ts';
import { runTitle } from '../render/run-message.ts';
import { classifySlackError, type SlackFailure, toSlackBlocks } from '../slack/client.ts';
import {
  type MessagePatch,
  type MessageRow,
  storeFirstTs,
  updateLeased,
} from '../store/messages.ts';

export const FAILURE_STATUSES: ReadonlySet<RunStatus> = new Set([
  'failed',
  'rolled_back',
  'rollback_failed',
]);
/** Statuses whose message shows the latest log lines. */
export const LOG_TAIL_STATUSES: ReadonlySet<RunStatus> = new Set([
  'applying',
  'destroying',
  'verifying',
  'rolling_back',
  'failed',
  'rolled_back',
  'rollback_failed',
]);

export class SlackCallError extends Error {
  override readonly name = 'SlackCallError';
  readonly failure: SlackFailure;
  readonly method: string;
  constructor(method: string, failure: SlackFailure) {
    super(`${method}: ${failure.detail}`);
    this.method = method;
    this.failure = failure;
  }
}

/** Runs a Web API call; a failure becomes a SlackCallError. */
export async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw new SlackCallError(method, classifySlackError(error));
  }
}

const postResult = z.object({ ok: z.literal(true), ts: z.string().min(1) });

export type DeliverDeps = {
  readonly core: BotPort;
  readonly client: WebClient;
  readonly log: Log;
  readonly owner: string;
  /** Thread posts of more chunks than this go up as one file instead. */
  readonly threadChunkLimit: number;
};

export class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

async function save(deps: DeliverDeps, row: MessageRow, patch: MessagePatch): Promise<MessageRow> {
  const next = await updateLeased(deps.core.store, row.runId, deps.owner, patch);
  if (!next) throw new LeaseLost(`lost the delivery lease of ${row.runId}`);
  return next;
}

async function sendMessage(
  deps: DeliverDeps,
  row: MessageRow,
  message: RenderedMessage,
): Promise<string> {
  const content = { text: message.text, blocks: toSlackBlocks(message.blocks) };
  if (row.ts === null) {
    const result = await call('chat.postMessage', () =>
      deps.client.chat.postMessage({
        channel: row.channel,
        ...content,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    const parsed = postResult.safeParse(result);
    if (!parsed.success)
      throw new SlackCallError('chat.postMessage', {
        kind: 'unavailable',
        detail: 'no ts in the answer',
      });
    return parsed.data.ts;
  }
  const ts = row.ts;
  await call('chat.update', () =>
    deps.client.chat.update({ channel: row.channel, ts, ...content }),
  );
  return ts;
}

/**
 * Posts or updates the run message with `message`. Slack refusing the blocks
 * (should never happen: the renderer keeps to the limits) gets a plainer
 * message; a deleted message is posted again.
 */
export async function deliverMessage(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
  message: RenderedMessage,
  logId: number,
): Promise<MessageRow> {
  let ts: string;
  let note: string | null = null;
  try {
    ts = await sendMessage(deps, row, message);
  } catch (error) {
    if (!(error instanceof SlackCallError)) throw error;
    if (error.failure.kind === 'message_gone' && row.ts !== null) {
      deps.log.warn('the run message is gone: posting it again', {
        runId: run.id,
        error: error.message,
      });
      // The new message gets its own thread: post the plan (and log) into it again.
      row = await save(deps, row, {
        ts: null,
        planThreadId: null,
        planThreadParts: 0,
        planThreadDone: false,
        logThreadParts: 0,
        logThreadDone: false,
      });
      return deliverMessage(deps, row, run, message, logId);
    }
    if (error.failure.kind !== 'invalid_message') throw error;
    deps.log.error('Slack refused the run message: sending a plainer one', {
      runId: run.id,
      error: error.message,
    });
    note = error.message;
    ts = await sendMessage(deps, row, renderFallbackMessage(run, message, error.failure.detail));
  }
  const patch: MessagePatch = {
    deliveredVersion: run.version,
    deliveredStatus: run.status,
    deliveredLogId: logId,
    lastUpdateAt: new Date(),
    attempts: 0,
    lastError: note,
    nextAttemptAt: null,
  };
  if (row.ts === null) {
    const stored = await storeFirstTs(deps.core.store, row.runId, deps.owner, ts, patch);
    if (!stored) throw new LeaseLost(`another delivery stored the message of ${row.runId}`);
    deps.log.info('posted the run message', { runId: run.id, channel: row.channel, ts });
    return stored;
  }
  return save(deps, row, patch);
}

async function postThreadChunks(
  deps: DeliverDeps,
  row: MessageRow,
  chunks: readonly string[],
  from: number,
  progress: (posted: number) => MessagePatch,
): Promise<MessageRow> {
  const ts = row.ts;
  if (ts === null) return row;
  let current = row;
  for (let i = from; i < chunks.length; i++) {
    const text = chunks[i]!;
    await call('chat.postMessage', () =>
      deps.client.chat.postMessage({
        channel: row.channel,
        thread_ts: ts,
        text,
        mrkdwn: true,
        unfurl_links: false,
        unfurl_media: false,
      }),
    );
    current = await save(deps, current, progress(i + 1));
  }
  return current;
}

async function uploadToThread(
  deps: DeliverDeps,
  row: MessageRow,
  file: { filename: string; title: string; content: string; comment: string },
): Promise<void> {
  const ts = row.ts;
  if (ts === null) return;
  await call('files.uploadV2', () =>
    deps.client.filesUploadV2({
      channel_id: row.channel,
      thread_ts: ts,
      file: Buffer.from(file.content, 'utf8'),
      filename: file.filename,
      title: file.title,
      initial_comment: file.comment,
    }),
  );
}

/**
 * The complete plan in the run's thread: a few messages, or one file when it
 * is long. Each post is recorded with the plan it belongs to and whether it
 * was the last one (one row update per Slack call).
 */
export async function deliverPlanThread(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
): Promise<MessageRow> {
  const plan = run.plan;
  if (plan === null || row.ts === null) return row;
  if (row.planThreadId === plan.id && row.planThreadDone) return row;
  // Parts posted for an earlier plan do not count for this one.
  const from = row.planThreadId === plan.id ? row.planThreadParts : 0;
  const text = (await deps.core.planText(run.id)) ?? '';
  const chunks = fitsInMessages(deps, text.length) ? renderPlanChunks(run, text) : [];
  let current = row;
  if (chunks.length > 0 && chunks.length <= deps.threadChunkLimit) {
    current = await postThreadChunks(deps, current, chunks, from, (n) => ({
      planThreadId: plan.id,
      planThreadParts: n,
      planThreadDone: n === chunks.length,
    }));
  } else {
    const title = `Plan for ${runTitle(run)} (run ${run.id})`;
    await uploadToThread(deps, current, {
      filename: `${run.id}-plan.txt`,
      title,
      content: text,
      comment: `${fitEncoded(title, 400, codeText)}: the complete plan is in this file.`,
    });
  }
  deps.log.info('posted the plan into the thread', {
    runId: run.id,
    planId: plan.id,
    as: chunks.length > 0 ? `${chunks.length} messages` : 'a file',
  });
  if (current.planThreadId === plan.id && current.planThreadDone) return current;
  return save(deps, current, { planThreadId: plan.id, planThreadDone: true });
}

/** Text much longer than the messages could hold goes straight into a file. */
function fitsInMessages(deps: DeliverDeps, length: number): boolean {
  return length <= deps.threadChunkLimit * 2600;
}

function formatLogLine(line: LogLine): string {
  return `[${line.phase}${line.stream === 'stderr' ? ' stderr' : ''}] ${line.line}`;
}

async function allLogLines(core: BotPort, runId: string, max: number): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  let afterId = 0;
  while (lines.length < max) {
    const page = await core.readLogs(runId, { afterId, limit: 5000 });
    if (page.length === 0) break;
    lines.push(...page);
    afterId = page[page.length - 1]!.id;
    if (page.length < 5000) break;
  }
  return lines.slice(0, max);
}

/** The full log of a failed run in its thread (redacted at the source). */
export async function deliverLogThread(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
): Promise<MessageRow> {
  if (!FAILURE_STATUSES.has(run.status) || row.logThreadDone || row.ts === null) return row;
  const lines = (await allLogLines(deps.core, run.id, 200_000)).map(formatLogLine);
  const title = `*Full log* of run \`${fitEncoded(run.id, 60, codeText)}\``;
  const size = lines.reduce((n, l) => n + l.length + 1, 0);
  const chunks = fitsInMessages(deps, size) ? renderLogChunks(lines, { title }) : [];
  let current = row;
  if (chunks.length > 0 && chunks.length <= deps.threadChunkLimit) {
    current = await postThreadChunks(deps, current, chunks, current.logThreadParts, (n) => ({
      logThreadParts: n,
      logThreadDone: n === chunks.length,
    }));
  } else {
    await uploadToThread(deps, current, {
      filename: `${run.id}-log.txt`,
      title: `Log of run ${run.id}`,
      content: `${lines.join('\n')}\n`,
      comment: `${title}: ${lines.length} lines in this file.`,
    });
  }
  deps.log.info('posted the full log into the thread', { runId: run.id, lines: lines.length });
  return current.logThreadDone ? current : save(deps, current, { logThreadDone: true });
}
