// Tried as a new user would: the manifest, the README steps, and
// `deploy-bot serve` with the example config get a team from nothing to a
// completed run, driven over HTTP exactly as Slack drives it.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ACTION_IDS } from '../src/bot/render/actions.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import {
  FAKE_SLACK_TOKEN,
  type FakeMessage,
  type FakeSlack,
  startFakeSlack,
} from './support/fake-slack.ts';
import {
  blockActionsBody,
  signedFormHeaders,
  slashCommandBody,
  TEST_SIGNING_SECRET,
} from './support/slack-signing.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const MANIFEST = parseYaml(readFileSync(path.join(ROOT, 'manifest.yaml'), 'utf8')) as {
  features: {
    bot_user: { display_name: string };
    slash_commands: { command: string; url: string; usage_hint?: string }[];
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    interactivity: { is_enabled: boolean; request_url: string };
    socket_mode_enabled: boolean;
  };
};
const API_TOKEN = 'e2e-api-token-0123456789';
const ME = 'U0LOCALDEV';
const CHANNEL = 'C0FIRSTTRY';

/** The scope each Web API method the bot calls needs. */
const SCOPE_OF: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  'usergroups.users.list': 'usergroups:read',
  'auth.test': '',
};

type Serve = {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  stop(): Promise<number | null>;
  /** Resolves with the exit code when the process ends by itself. */
  exited: Promise<number | null>;
};

function startServe(env: Record<string, string>, waitFor: RegExp): Promise<Serve> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/deploy-bot.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const serve: Serve = {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (waitFor.test(stdout) || waitFor.test(stderr)) {
        clearInterval(timer);
        resolve(serve);
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`serve exited with ${child.exitCode}:\n${stdout}\n${stderr}`));
      }
    }, 50);
    setTimeout(() => {
      clearInterval(timer);
      void serve.stop();
      reject(new Error(`serve did not print ${waitFor} in time:\n${stdout}\n${stderr}`));
    }, 60_000).unref();
  });
}

/** The nice value of each thread of a process, by thread name (Linux /proc). */
function threadNices(pid: number): Map<string, number[]> {
  const byName = new Map<string, number[]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after "(comm) ": state is field 3, nice field 19.
    const nice = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    byName.set(name, [...(byName.get(name) ?? []), nice]);
  }
  return byName;
}

let db: TestDatabase;
let slack: FakeSlack;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  slack = await startFakeSlack();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-e2e-'));
});
afterAll(async () => {
  await slack?.close();
  await db?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const baseEnv = () => ({
  DATABASE_URL: db.url,
  DEPLOY_BOT_DATA_DIR: dataDir,
  DEPLOY_CONFIG: 'examples/deploy.config.yaml',
  DEPLOY_WORKER_CONCURRENCY: '2',
  DEPLOY_BOT_LOG_LEVEL: 'warn',
});

describe('the Slack app manifest', () => {
  it('declares the command, interactivity, the scopes and the Socket Mode switch', () => {
    const [command] = MANIFEST.features.slash_commands;
    expect(command?.command).toBe('/deploy');
    expect(command?.url).toMatch(/^https:\/\/.+\/slack\/events$/);
    expect(MANIFEST.settings.interactivity.is_enabled).toBe(true);
    expect(MANIFEST.settings.interactivity.request_url).toBe(command?.url);
    expect(typeof MANIFEST.settings.socket_mode_enabled).toBe('boolean');
    expect(MANIFEST.oauth_config.scopes.bot).toEqual(
      expect.arrayContaining([
        'commands',
        'chat:write',
        'chat:write.public',
        'files:write',
        'usergroups:read',
      ]),
    );
    for (const word of ['help', 'list', 'destroy', 'status', 'logs', 'cancel']) {
      expect(command?.usage_hint).toContain(word);
    }
  });
});

describe('the README steps', () => {
  it('name every setting the bot reads and where to find the credentials', () => {
    for (const name of [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_APP_TOKEN',
      'PORT',
      'SLACK_API_URL',
      'DEPLOY_API_TOKEN',
      'DEPLOY_BOT_WORK_NICE',
      'manifest.yaml',
      'Bot User OAuth Token',
      'Signing Secret',
      'connections:write',
      'socket_mode_enabled: true',
      '/slack/events',
    ]) {
      expect(README).toContain(name);
    }
    for (const scope of MANIFEST.oauth_config.scopes.bot) expect(README).toContain(`\`${scope}\``);
  });

  it('without Slack credentials, serve runs the engine and says what is missing and where to get it', async () => {
    const serve = await startServe(
      { ...baseEnv(), PORT: '0', HOST: '127.0.0.1', DEPLOY_API_TOKEN: API_TOKEN },
      /HTTP API and health checks on port \d+/,
    );
    try {
      // The JSON API and the health checks work without Slack.
      const port = /on port (\d+)/.exec(serve.stdout())?.[1];
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const runs = await fetch(`http://127.0.0.1:${port}/api/runs`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(runs.status).toBe(200);
      const out = serve.stdout();
      expect(out).toContain('Slack is not configured: running the engine only');
      expect(out).toContain('SLACK_BOT_TOKEN (xoxb-…): install the app to your workspace');
      expect(out).toContain(
        'SLACK_SIGNING_SECRET: Basic Information → App Credentials → Signing Secret',
      );
      expect(out).toContain('manifest.yaml');
      expect(serve.child.exitCode).toBeNull();
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  });

  it('a malformed credential stops serve with the reason', async () => {
    const serve = await startServe(
      {
        ...baseEnv(),
        SLACK_BOT_TOKEN: 'xoxp-a-user-token',
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        DEPLOY_BOT_WORK_NICE: 'low',
      },
      /could not start/,
    );
    expect(await serve.exited).toBe(1);
    // Every malformed setting at once, each with what it must be.
    expect(serve.stderr()).toContain('SLACK_BOT_TOKEN must be a bot token (xoxb-…)');
    expect(serve.stderr()).toContain(
      'DEPLOY_BOT_WORK_NICE: DEPLOY_BOT_WORK_NICE must be a whole number from 0 (off) to 19',
    );
  });

  it('from nothing to a completed run: serve, /deploy, Approve plan, Apply', async () => {
    // Step 3 of the README: the credentials, the port; SLACK_API_URL points at the fake Slack.
    const serve = await startServe(
      {
        ...baseEnv(),
        SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: slack.url,
        PORT: '0',
        HOST: '127.0.0.1',
        DEPLOY_API_TOKEN: API_TOKEN,
      },
      /Slack bot listening on port \d+/,
    );
    try {
      const port = /Slack bot listening on port (\d+)/.exec(serve.stdout())?.[1];
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      if (process.platform === 'linux') {
        // The thread that acks keeps its priority; the rest of the work yields to it
        // (DEPLOY_BOT_WORK_NICE, 10 by default).
        const nice = threadNices(serve.child.pid ?? 0);
        const http = nice.get('slack-http') ?? [];
        expect(http).toHaveLength(1);
        expect(nice.get('MainThread')).toEqual([Math.min(19, (http[0] ?? 0) + 10)]);
        expect(http[0]).toBe(os.getPriority(0));
      }
      const send = async (body: string) => {
        const started = performance.now();
        const res = await fetch(`${base}/slack/events`, {
          method: 'POST',
          headers: signedFormHeaders(TEST_SIGNING_SECRET, body),
          body,
        });
        expect(res.status).toBe(200);
        expect(performance.now() - started).toBeLessThan(3000);
      };
      const slash = async (text: string) => {
        const responseUrl = slack.responseUrl();
        await send(slashCommandBody({ text, userId: ME, channelId: CHANNEL, responseUrl }));
        await slack.waitFor(() => slack.responsesFor(responseUrl).length > 0, 15_000);
        return JSON.stringify(slack.responsesFor(responseUrl)[0]?.body);
      };
      const click = async (message: FakeMessage, actionId: string) => {
        const responseUrl = slack.responseUrl();
        await send(
          blockActionsBody({ message, channelId: CHANNEL, userId: ME, actionId, responseUrl }),
        );
      };

      // Step 4: the first commands, exactly as the README gives them.
      const help = await slash('help');
      expect(help).toContain('hello-web');
      expect(help).toContain('notes');
      expect(await slash('list')).toContain('`notes` (local): idle');
      const first = /^\/deploy (notes .+)$/m.exec(README)?.[1];
      expect(first).toBeDefined();
      const accepted = await slash(first!);
      const runId = /run-[0-9a-z]{10}/.exec(accepted)?.[0] ?? '';
      expect(runId).not.toBe('');

      const messageWhere = (status: string) =>
        slack.waitFor(
          () =>
            slack
              .channelMessages(CHANNEL)
              .find(
                (m) =>
                  m.threadTs === null &&
                  JSON.stringify(m.blocks).includes(`header:${runId}`) &&
                  JSON.stringify(m.blocks).includes(`*Status*\\n${status}`),
              ),
          30_000,
        );
      const planned = await messageWhere('⏸ Awaiting plan approval');
      await slack.waitFor(() =>
        slack.thread(CHANNEL, planned.ts).some((m) => m.text.includes('Plan for')),
      );
      await click(planned, ACTION_IDS.approvePlan);
      const awaiting = await messageWhere('⏸ Awaiting apply approval');
      expect(JSON.stringify(awaiting.blocks)).toContain('Plan approved by <@U0LOCALDEV>');
      await click(awaiting, ACTION_IDS.confirmApply);
      const done = await messageWhere('✓ Completed');
      expect(JSON.stringify(done.blocks)).toContain('*Outputs*');

      // One message for the run, updated in place.
      const mine = slack
        .channelMessages(CHANNEL)
        .filter((m) => m.threadTs === null && JSON.stringify(m.blocks).includes(`header:${runId}`));
      expect(mine).toHaveLength(1);

      // The JSON API returns what `deploy-bot status --json` prints.
      const api = await fetch(`${base}/api/runs/${runId}`, {
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(api.status).toBe(200);
      const fromApi = (await api.json()) as Record<string, unknown>;
      const cli = await new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['bin/deploy-bot.js', 'status', runId, '--json'], {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...baseEnv() },
        });
        let out = '';
        p.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
        });
        p.once('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`status exited ${code}`)),
        );
      });
      expect(fromApi).toEqual(JSON.parse(cli));
      expect(fromApi).toMatchObject({ id: runId, status: 'completed', deployment: 'notes' });

      // Every Web API method the bot used is covered by the manifest's scopes.
      for (const method of new Set(slack.calls.map((c) => c.method))) {
        expect(Object.keys(SCOPE_OF), `scope of ${method}`).toContain(method);
        const scope = SCOPE_OF[method];
        if (scope) expect(MANIFEST.oauth_config.scopes.bot).toContain(scope);
      }
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.stderr()).not.toMatch(/TypeError|ReferenceError|unhandled/i);
  });
});
