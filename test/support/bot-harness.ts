// A real core (own database, real workers, real step scripts), the fake Slack
// Web API, and the real Bolt app on loopback, driven with correctly signed
// requests the way Slack sends them.

import type { RunningBot } from '../../src/bot/app.ts';
import { startBot } from '../../src/bot/app.ts';
import { localBotPort } from '../../src/bot/local-port.ts';
import { createLog, type LogRecord } from '../../src/bot/log.ts';
import type { OutboxTuning } from '../../src/bot/outbox/outbox.ts';
import { startApiServer } from '../../src/server/api/server.ts';
import {
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeMessage,
  type FakeSlack,
  type FakeSlackOptions,
  startFakeSlack,
} from './fake-slack.ts';
import { type Harness, type HarnessOptions, startHarness } from './harness.ts';
import {
  blockActionsBody,
  findButtons,
  signedFormHeaders,
  slashCommandBody,
  TEST_SIGNING_SECRET,
} from './slack-signing.ts';

export type BotHarnessOptions = HarnessOptions & {
  readonly slack?: FakeSlackOptions;
  readonly outbox?: Partial<OutboxTuning>;
  readonly apiToken?: string;
  readonly groupsTtlMs?: number;
  /** Serve /api/v1 on the bot's HTTP port too (src/server/api). */
  readonly api?: boolean;
};

export type SlackRequestResult = {
  readonly status: number;
  readonly text: string;
  /** Milliseconds until the HTTP answer (the ack). */
  readonly ms: number;
  readonly responseUrl: string;
};

export type BotHarness = {
  readonly h: Harness;
  readonly slack: FakeSlack;
  readonly bot: RunningBot;
  readonly logs: LogRecord[];
  readonly eventsUrl: string;
  /** POSTs a signed `/deploy <text>`. */
  command(
    text: string,
    options?: {
      user?: string;
      channel?: string;
      triggerId?: string;
      headers?: Record<string, string>;
    },
  ): Promise<SlackRequestResult>;
  /** POSTs a signed click on a button of `message` (as posted to the fake Slack). */
  click(
    message: FakeMessage,
    actionId: string,
    options?: { user?: string; channel?: string; value?: string; triggerId?: string },
  ): Promise<SlackRequestResult>;
  /** The replies posted to a response_url (waits for at least `count`). */
  replies(responseUrl: string, count?: number, timeoutMs?: number): Promise<string[]>;
  /** The run id in the first reply to a command. */
  runIdOf(result: SlackRequestResult): Promise<string>;
  /** The run's message in the channel (waits until it is posted). */
  runMessage(runId: string, channel?: string, timeoutMs?: number): Promise<FakeMessage>;
  /** Waits until the run's message satisfies `check` (its current version). */
  messageWhere(
    runId: string,
    check: (m: FakeMessage) => boolean,
    timeoutMs?: number,
    channel?: string,
  ): Promise<FakeMessage>;
  /** Every message (not thread replies) that shows `runId`. */
  messagesOf(runId: string, channel?: string): FakeMessage[];
  close(): Promise<void>;
};

export const CHANNEL = 'C0DEPLOYS';

/** All text of a message: its fallback text and its blocks. */
export function messageText(m: { text: string; blocks: readonly unknown[] | null }): string {
  return `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
}

function isRunMessage(m: FakeMessage, runId: string): boolean {
  if (m.threadTs !== null || m.deleted) return false;
  return (m.blocks ?? []).some(
    (b) =>
      typeof b === 'object' &&
      b !== null &&
      (b as { block_id?: unknown }).block_id === `header:${runId}`,
  );
}

export async function startBotHarness(options: BotHarnessOptions): Promise<BotHarness> {
  const h = await startHarness(options);
  const slack = await startFakeSlack(options.slack);
  const logs: LogRecord[] = [];
  const api = options.api ? await startApiServer({ core: h.core, log: () => {} }) : null;
  const bot = await startBot({
    api: api?.handle,
    core: localBotPort(h.core),
    botToken: FAKE_SLACK_TOKEN,
    mode: { kind: 'http', signingSecret: TEST_SIGNING_SECRET },
    port: 0,
    host: '127.0.0.1',
    slackApiUrl: slack.url,
    apiToken: options.apiToken,
    botId: FAKE_BOT_ID,
    botUserId: FAKE_BOT_USER_ID,
    log: createLog({ level: 'debug', sink: (r) => logs.push(r) }),
    outbox: { sweepMs: 400, maxBackoffMs: 1500, ...options.outbox },
    ...(options.groupsTtlMs !== undefined ? { groupsTtlMs: options.groupsTtlMs } : {}),
  });
  const eventsUrl = `${bot.url}/slack/events`;

  const post = async (body: string, headers: Record<string, string>, responseUrl: string) => {
    const started = performance.now();
    const res = await fetch(eventsUrl, { method: 'POST', headers, body });
    const ms = performance.now() - started;
    return { status: res.status, text: await res.text(), ms, responseUrl };
  };

  const messagesOf = (runId: string, channel = CHANNEL) =>
    slack.channelMessages(channel).filter((m) => isRunMessage(m, runId));

  const harness: BotHarness = {
    h,
    slack,
    bot,
    logs,
    eventsUrl,
    async command(text, o = {}) {
      const responseUrl = slack.responseUrl();
      const body = slashCommandBody({
        text,
        userId: o.user ?? 'U0REQUESTER',
        channelId: o.channel ?? CHANNEL,
        responseUrl,
        ...(o.triggerId ? { triggerId: o.triggerId } : {}),
      });
      return post(
        body,
        { ...signedFormHeaders(TEST_SIGNING_SECRET, body), ...o.headers },
        responseUrl,
      );
    },
    async click(message, actionId, o = {}) {
      const responseUrl = slack.responseUrl();
      const body = blockActionsBody({
        message,
        channelId: o.channel ?? message.channel,
        userId: o.user ?? 'U0APPROVER',
        actionId,
        responseUrl,
        ...(o.value !== undefined ? { value: o.value } : {}),
        ...(o.triggerId ? { triggerId: o.triggerId } : {}),
      });
      return post(body, signedFormHeaders(TEST_SIGNING_SECRET, body), responseUrl);
    },
    async replies(responseUrl, count = 1, timeoutMs = 10_000) {
      await slack.waitFor(() => slack.responsesFor(responseUrl).length >= count, timeoutMs);
      return slack.responsesFor(responseUrl).map((r) => JSON.stringify(r.body));
    },
    async runIdOf(result) {
      const [first] = await harness.replies(result.responseUrl);
      const id = /run-[0-9a-z]{10}/.exec(first ?? '')?.[0];
      if (!id) throw new Error(`no run id in the reply: ${first}`);
      return id;
    },
    runMessage(runId, channel = CHANNEL, timeoutMs = 15_000) {
      return slack.waitFor(() => messagesOf(runId, channel)[0], timeoutMs);
    },
    messageWhere(runId, check, timeoutMs = 20_000, channel = CHANNEL) {
      return slack.waitFor(() => messagesOf(runId, channel).find(check), timeoutMs);
    },
    messagesOf,
    async close() {
      await bot.stop();
      await api?.stop();
      await slack.close();
      await h.close();
    },
  };
  return harness;
}

/** The button of `message` with `actionId` (its text, style, confirm…). */
export function buttonOf(message: FakeMessage, actionId: string) {
  return findButtons(message.blocks).find((b) => b.actionId === actionId);
}

/** The status label the run message shows (from its fields block). */
export function shownStatus(message: FakeMessage): string {
  const text = messageText(message);
  return /\*Status\*\\n\S+ ([^"\\]+)/.exec(text)?.[1] ?? '';
}
