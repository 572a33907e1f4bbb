// Slack side of the bot benchmarks: the tests' fake Slack Web API (in the
// benchmark process), a real `deploy-bot serve` pointed at it over HTTP, and
// correctly signed requests sent with a keep-alive agent.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeMessage,
  type FakeSlack,
} from '../../test/support/fake-slack.ts';
import {
  blockActionsBody,
  findButtons,
  signedFormHeaders,
  slashCommandBody,
  TEST_SIGNING_SECRET,
} from '../../test/support/slack-signing.ts';
import { freePort, type Proc, ROOT, sleep, startDeployBot, type Workspace } from './env.ts';

export const SIGNING_SECRET = TEST_SIGNING_SECRET;
export const CHANNEL = 'C0DEPLOYS';
export const REQUESTER = 'U0REQUESTER';
export const APPROVER = 'U0APPROVER';

export const keepAlive = new http.Agent({ keepAlive: true });

export type Answer = { status: number; text: string; ms: number };

/** POSTs a form body signed with the signing secret; `ms` is the time to the complete answer. */
export function postSigned(url: string, body: string, agent = keepAlive): Promise<Answer> {
  const headers = {
    ...signedFormHeaders(SIGNING_SECRET, body),
    'content-length': String(Buffer.byteLength(body)),
  };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Waits until GET url answers 200. */
export async function waitHealthy(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(url, (res) => {
          res.resume();
          resolve(res.statusCode === 200);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Node's flags as `npm run <script>` starts the program (package.json), unless
 * BENCH_NODE_ARGS says otherwise: the processes compared run alike.
 */
export function nodeArgsOf(script: 'start' | 'tui'): string[] {
  if (process.env.BENCH_NODE_ARGS !== undefined)
    return process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = (pkg.scripts[script] ?? '').split(/\s+/);
  return words.slice(1).filter((w) => w.startsWith('--'));
}

export type SlackServe = {
  proc: Pick<Proc, 'child' | 'stop'>;
  eventsUrl: string;
  port: number;
};

function slackEnv(slack: FakeSlack, port: number): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.url,
    // Known ids: no auth.test at start.
    SLACK_BOT_ID: FAKE_BOT_ID,
    SLACK_BOT_USER_ID: FAKE_BOT_USER_ID,
    PORT: String(port),
    HOST: '127.0.0.1',
  };
}

/** `deploy-bot serve` (workers and the Slack bot over HTTP) against the fake Slack. */
export async function startSlackServe(
  ws: Workspace,
  databaseUrl: string,
  slack: FakeSlack,
  env: Record<string, string> = {},
): Promise<SlackServe> {
  const port = await freePort();
  const proc = await startDeployBot('serve', ws, databaseUrl, { ...slackEnv(slack, port), ...env });
  // "serving" is printed before the bot listens.
  await waitHealthy(`http://127.0.0.1:${port}/healthz`);
  return { proc, eventsUrl: `http://127.0.0.1:${port}/slack/events`, port };
}

/**
 * Diagnostic: the bot of `deploy-bot serve` without its in-process workers
 * (bench/lib/bot-only.ts), started like startDeployBot starts serve.
 */
export async function startBotOnly(
  ws: Workspace,
  databaseUrl: string,
  slack: FakeSlack,
): Promise<SlackServe> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...nodeArgsOf('start'), path.join(import.meta.dirname, 'bot-only.ts')],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        DEPLOY_CONFIG: ws.configFile,
        DEPLOY_BOT_DATA_DIR: ws.dataDir,
        ...slackEnv(slack, port),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  child.stdout.resume();
  const exited = new Promise((r) => child.once('exit', r));
  await Promise.race([
    waitHealthy(`http://127.0.0.1:${port}/healthz`),
    exited.then(() => {
      throw new Error('bot-only.ts exited');
    }),
  ]);
  return {
    proc: {
      child,
      async stop() {
        if (child.exitCode !== null) return;
        child.kill('SIGTERM');
        await exited;
      },
    },
    eventsUrl: `http://127.0.0.1:${port}/slack/events`,
    port,
  };
}

/** CPU time (user + system) a process has used so far, in milliseconds; 0 once gone. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (clock ticks of 1/100 s).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** The form body of a signed `/deploy <text>` from `user` in the channel. */
export function commandBody(slack: FakeSlack, text: string, user = REQUESTER): string {
  return slashCommandBody({
    text,
    userId: user,
    channelId: CHANNEL,
    responseUrl: slack.responseUrl(),
  });
}

/** The form body of a click on `actionId` of a posted message. */
export function clickBody(
  slack: FakeSlack,
  message: FakeMessage,
  actionId: string,
  user = APPROVER,
): string {
  return blockActionsBody({
    message,
    channelId: message.channel,
    userId: user,
    actionId,
    responseUrl: slack.responseUrl(),
  });
}

export function hasButton(message: FakeMessage, actionId: string): boolean {
  return findButtons(message.blocks).some((b) => b.actionId === actionId);
}

function showsRun(blocks: readonly unknown[] | null, runId: string): boolean {
  return (blocks ?? []).some(
    (b) =>
      typeof b === 'object' &&
      b !== null &&
      (b as { block_id?: unknown }).block_id === `header:${runId}`,
  );
}

/** The run's message in the channel (not a thread reply), if posted. */
export function runMessage(slack: FakeSlack, runId: string): FakeMessage | undefined {
  return slack
    .channelMessages(CHANNEL)
    .find((m) => m.threadTs === null && !m.deleted && showsRun(m.blocks, runId));
}

/** The run id of a message posted by the bot, from its header block. */
export function runIdOf(message: FakeMessage): string | null {
  for (const b of message.blocks ?? []) {
    const id = (b as { block_id?: unknown }).block_id;
    if (typeof id === 'string' && id.startsWith('header:')) return id.slice('header:'.length);
  }
  return null;
}

/** The status label a version of a run message shows (its fields block). */
export function shownStatus(m: { text: string; blocks: readonly unknown[] | null }): string {
  const text = `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
  return /\*Status\*\\n\S+ ([^"\\]+)/.exec(text)?.[1] ?? '';
}

/** The run id in the first reply posted to the command's response_url. */
export async function runIdFromReply(slack: FakeSlack, responseUrl: string): Promise<string> {
  const reply = await slack.waitFor(() => slack.responsesFor(responseUrl)[0], 15_000);
  const id = /run-[0-9a-z]{10}/.exec(JSON.stringify(reply.body))?.[0];
  if (!id) throw new Error(`no run id in the reply: ${JSON.stringify(reply.body)}`);
  return id;
}

/** The response_url inside a form body built by commandBody/clickBody. */
export function responseUrlOf(body: string): string {
  const params = new URLSearchParams(body);
  const direct = params.get('response_url');
  if (direct) return direct;
  const payload = JSON.parse(params.get('payload') ?? '{}') as { response_url?: string };
  return payload.response_url ?? '';
}

/** Waits until the fake Slack has had no call and no response for `quietMs`. */
export async function settle(slack: FakeSlack, quietMs = 1000, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const n = slack.calls.length + slack.responses.length;
    if (n !== seen) {
      seen = n;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(100);
  }
}
