// Telling the people who may decide a run's step, as part of a run's delivery
// (under its lease): per deployment `notify: thread` (a threaded reply
// mentioning them), `dm` (a direct message to each with the run message's
// buttons) or `none`. Each notice is recorded per run, step and target in
// slack_notices and claimed before it is sent, so it goes out once however
// many processes serve. When the step is over, every DM of it is updated to
// say who decided, without buttons. `remind` tells them once more.

import { z } from 'zod';
import type { Deployment } from '../../core/api/port.ts';
import type { RunView } from '../../core/api/types.ts';
import {
  renderDmDecided,
  renderDmNotice,
  renderDmReminder,
  renderThreadNotice,
  stepOf,
} from '../render/notice.ts';
import { toSlackBlocks } from '../slack/client.ts';
import type { MessageRow } from '../store/messages.ts';
import {
  claimRemind,
  claimSend,
  closeNotice,
  ensureNotices,
  giveUpNotice,
  type NoticeRow,
  noticesOf,
  releaseSend,
  storeSent,
} from '../store/notices.ts';
import { call, type DeliverDeps, SlackCallError } from './deliver.ts';

const usersList = z.object({ ok: z.literal(true), users: z.array(z.string()) });
const opened = z.object({ ok: z.literal(true), channel: z.object({ id: z.string().min(1) }) });
const posted = z.object({ ok: z.literal(true), ts: z.string().min(1) });

/**
 * The users and groups who may decide the step: the `from` of its requirement
 * entries still short of people (the run's policy), else the approvers.
 */
function stepDeciders(deployment: Deployment, run: RunView): string[] {
  const stage = run.status === 'awaiting_apply_approval' ? 'apply' : 'plan';
  const entries = run.policy?.[stage].entries;
  if (!entries) return deployment.approvers;
  return [...new Set(entries.filter((e) => e.missing > 0).flatMap((e) => e.from))];
}

/** Who is mentioned in the thread: the step's deciders, less the requester who may not approve. */
function threadMentions(deployment: Deployment, run: RunView): string[] {
  return stepDeciders(deployment, run).filter(
    (id) => deployment.allowSelfApproval || id !== run.requestedBy,
  );
}

/**
 * Every person who may decide the step now: the approvers, groups expanded, each
 * kept only when the core's `allowed` for them (in the run's channel) holds the
 * step's decision, the same check their click will meet.
 */
async function eligiblePeople(
  deps: DeliverDeps,
  deployment: Deployment,
  run: RunView,
  channel: string,
): Promise<string[]> {
  const people = new Set<string>();
  for (const id of stepDeciders(deployment, run)) {
    if (!id.startsWith('S')) {
      people.add(id);
      continue;
    }
    const listed = usersList.parse(
      await call('usergroups.users.list', () =>
        deps.client.usergroups.users.list({ usergroup: id }),
      ),
    ).users;
    for (const u of listed) people.add(u);
  }
  const out: string[] = [];
  for (const person of people) {
    const allowed = await deps.core.decisionsFor(run.id, { id: person, via: 'slack', channel });
    if (allowed.some((d) => d !== 'cancel')) out.push(person);
  }
  return out.sort();
}

const key = (n: NoticeRow) => ({ runId: n.runId, step: n.step, target: n.target });

/** A Slack failure a retry may fix (the outbox retries the run); others are about this one person. */
const transient = (error: SlackCallError) =>
  error.failure.kind === 'rate_limited' || error.failure.kind === 'unavailable';

async function send(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
  notice: NoticeRow,
  deployment: Deployment,
): Promise<void> {
  const claimed = await claimSend(deps.core.store, key(notice));
  if (claimed === null) return;
  try {
    let channel: string;
    let ts: string;
    if (notice.target === 'thread') {
      channel = row.channel;
      const result = await call('chat.postMessage', () =>
        deps.client.chat.postMessage({
          channel: row.channel,
          thread_ts: row.ts!,
          text: renderThreadNotice(run, notice.step, threadMentions(deployment, run)),
          unfurl_links: false,
        }),
      );
      ts = posted.parse(result).ts;
    } else {
      const dm = await call('conversations.open', () =>
        deps.client.conversations.open({ users: notice.target }),
      );
      channel = opened.parse(dm).channel.id;
      const message = renderDmNotice(run, notice.step, row.channel);
      const result = await call('chat.postMessage', () =>
        deps.client.chat.postMessage({
          channel,
          text: message.text,
          blocks: toSlackBlocks(message.blocks),
          unfurl_links: false,
        }),
      );
      ts = posted.parse(result).ts;
    }
    const remindAt =
      deployment.remind !== undefined ? new Date(Date.now() + deployment.remind) : null;
    await storeSent(deps.core.store, key(notice), { channel, ts, remindAt });
    deps.log.info('told the approvers', {
      runId: run.id,
      step: notice.step,
      target: notice.target,
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    if (error instanceof SlackCallError && !transient(error)) {
      await giveUpNotice(deps.core.store, key(notice), text);
      deps.log.warn('could not tell an approver', {
        runId: run.id,
        target: notice.target,
        error: text,
      });
      return;
    }
    await releaseSend(deps.core.store, key(notice), text);
    throw error;
  }
}

async function remind(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
  notice: NoticeRow,
  deployment: Deployment,
): Promise<void> {
  if (notice.ts === null || notice.channel === null) return;
  if (!(await claimRemind(deps.core.store, key(notice)))) return;
  const text =
    notice.target === 'thread'
      ? renderThreadNotice(run, notice.step, threadMentions(deployment, run), true)
      : renderDmReminder(run, notice.step);
  const channel = notice.channel;
  const threadTs = notice.target === 'thread' ? row.ts! : notice.ts;
  try {
    await call('chat.postMessage', () =>
      deps.client.chat.postMessage({ channel, thread_ts: threadTs, text, reply_broadcast: false }),
    );
  } catch (error) {
    // A reminder is a courtesy: one attempt.
    deps.log.warn('could not remind an approver', {
      runId: run.id,
      target: notice.target,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** Closes notices of steps that are over: their DMs say who decided and lose their buttons. */
async function closeOver(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
  notices: readonly NoticeRow[],
  step: string | null,
): Promise<void> {
  for (const notice of notices) {
    if (notice.closed || notice.step === step) continue;
    if (notice.target !== 'thread' && notice.ts !== null && notice.channel !== null) {
      const message = renderDmDecided(run, notice.step, row.channel);
      const channel = notice.channel;
      const ts = notice.ts;
      try {
        await call('chat.update', () =>
          deps.client.chat.update({
            channel,
            ts,
            text: message.text,
            blocks: toSlackBlocks(message.blocks),
          }),
        );
      } catch (error) {
        if (!(error instanceof SlackCallError) || transient(error)) throw error;
        deps.log.warn('could not update an approver’s DM', {
          runId: run.id,
          target: notice.target,
          error: error.message,
        });
      }
    }
    await closeNotice(deps.core.store, key(notice));
  }
}

/**
 * Brings the run's notices up to date; returns when to look again (a
 * reminder due), or null. Throws a transient SlackCallError for the outbox to retry.
 */
export async function deliverNotices(
  deps: DeliverDeps,
  row: MessageRow,
  run: RunView,
): Promise<number | null> {
  if (row.ts === null) return null;
  const step = stepOf(run);
  let notices = await noticesOf(deps.core.store, run.id);
  await closeOver(deps, row, run, notices, step);
  if (step === null) return null;
  let deployment: Deployment;
  try {
    deployment = deps.core.deployment(run.deployment);
  } catch {
    return null;
  }
  if (deployment.notify === 'none') return null;
  if (!notices.some((n) => n.step === step)) {
    const targets =
      deployment.notify === 'thread'
        ? ['thread']
        : await eligiblePeople(deps, deployment, run, row.channel);
    await ensureNotices(deps.core.store, run.id, step, targets);
    notices = await noticesOf(deps.core.store, run.id);
  }
  let wake: number | null = null;
  let sentNow = false;
  for (const notice of notices) {
    if (notice.step !== step || notice.closed) continue;
    if (notice.sentAt === null) {
      await send(deps, row, run, notice, deployment);
      sentNow = true;
    } else if (notice.remindAt !== null && notice.remindedAt === null) {
      if (notice.remindAt.getTime() <= Date.now()) await remind(deps, row, run, notice, deployment);
      else wake = Math.min(wake ?? Number.POSITIVE_INFINITY, notice.remindAt.getTime());
    }
  }
  // Reminders of notices sent just now.
  if (sentNow && deployment.remind !== undefined) {
    const soonest = Date.now() + deployment.remind;
    wake = Math.min(wake ?? soonest, soonest);
  }
  return wake;
}
