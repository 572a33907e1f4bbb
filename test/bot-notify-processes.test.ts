// Approver notices with two real `deploy-bot serve` processes on one database
// and one (fake) Slack: each step is announced once, whichever process
// delivers the run, and a DM goes once to each person.

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployCore } from '../src/core/api/core.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';
import {
  FAKE_BOT_ID,
  FAKE_BOT_USER_ID,
  FAKE_SLACK_TOKEN,
  type FakeSlack,
  startFakeSlack,
} from './support/fake-slack.ts';
import {
  blockActionsBody,
  findButtons,
  signedFormHeaders,
  slashCommandBody,
  TEST_SIGNING_SECRET,
} from './support/slack-signing.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CHANNEL = 'C0DEPLOYS';
const CONFIG = `
deployments:
  - name: threaded
    environment: production
    approvers: [U0APPROVER, S0OPS]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: direct
    environment: production
    approvers: [U0APPROVER, S0OPS]
    notify: dm
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;

let dir: string;
let db: TestDatabase;
let slack: FakeSlack;
let core: DeployCore;
const procs: { child: ChildProcess; url: string }[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function startServe(n: number) {
  const port = await freePort();
  const dataDir = path.join(dir, `data-${n}`);
  mkdirSync(dataDir, { recursive: true });
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/deploy-bot.js'), 'serve'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATABASE_URL: db.url,
      DEPLOY_BOT_DATA_DIR: dataDir,
      DEPLOY_CONFIG: path.join(dir, 'deploy.config.yaml'),
      DEPLOY_WORKER_CONCURRENCY: '2',
      DEPLOY_BOT_LOG_LEVEL: 'warn',
      SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
      SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_BOT_ID: FAKE_BOT_ID,
      SLACK_BOT_USER_ID: FAKE_BOT_USER_ID,
      PORT: String(port),
      HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  procs.push({ child, url: `${url}/slack/events` });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-notify-'));
  for (const [file, body] of Object.entries({
    'src/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"\n`,
    'src/apply.sh': '#!/bin/sh\necho applying\n',
  })) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), body);
    chmodSync(path.join(dir, file), 0o755);
  }
  writeFileSync(path.join(dir, 'deploy.config.yaml'), CONFIG);
  db = await createTestDatabase();
  slack = await startFakeSlack({ userGroups: { S0OPS: ['U0GROUPIE'] } });
  await startServe(1);
  await startServe(2);
  core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: path.join(dir, 'data-test'),
    config: path.join(dir, 'deploy.config.yaml'),
    migrate: false,
    poolSize: 2,
  });
}, 60_000);

afterAll(async () => {
  for (const p of procs) {
    if (p.child.exitCode === null) {
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGTERM');
      await exited;
    }
  }
  await core?.close();
  await slack?.close();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(url: string, body: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: signedFormHeaders(TEST_SIGNING_SECRET, body),
    body,
  });
  expect(res.status).toBe(200);
}

async function request(name: string) {
  const responseUrl = slack.responseUrl();
  await post(
    procs[0]!.url,
    slashCommandBody({ text: name, userId: 'U0REQUESTER', channelId: CHANNEL, responseUrl }),
  );
  await slack.waitFor(() => slack.responsesFor(responseUrl).length > 0, 15_000);
  const runId = /run-[0-9a-z]{10}/.exec(
    JSON.stringify(slack.responsesFor(responseUrl)[0]!.body),
  )![0];
  const message = await slack.waitFor(
    () =>
      slack
        .channelMessages(CHANNEL)
        .find(
          (m) =>
            m.threadTs === null &&
            JSON.stringify(m.blocks).includes(`header:${runId}`) &&
            findButtons(m.blocks).some((b) => b.actionId === 'approve_plan'),
        ),
    20_000,
  );
  return { runId, message };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('approver notices with two serve processes', () => {
  it('thread: one notice per step', async () => {
    const { runId, message } = await request('threaded');
    const notices = () =>
      slack.thread(CHANNEL, message.ts).filter((m) => m.text.includes('waits for one of you'));
    await slack.waitFor(() => notices().length === 1, 10_000);
    await sleep(3000);
    expect(notices()).toHaveLength(1);
    // Approved through the other process.
    await post(
      procs[1]!.url,
      blockActionsBody({
        message,
        channelId: CHANNEL,
        userId: 'U0APPROVER',
        actionId: 'approve_plan',
        responseUrl: slack.responseUrl(),
      }),
    );
    await slack.waitFor(() => notices().length === 2, 15_000);
    await sleep(3000);
    expect(notices()).toHaveLength(2);
    expect((await core.getRun(runId)).status).toBe('awaiting_apply_approval');
  }, 60_000);

  it('dm: one DM per person per step', async () => {
    const { runId } = await request('direct');
    const dms = (user: string) =>
      slack.channelMessages(slack.dmChannel(user)).filter((m) => m.text.includes(runId));
    await slack.waitFor(
      () => dms('U0APPROVER').length === 1 && dms('U0GROUPIE').length === 1,
      15_000,
    );
    await sleep(3000);
    expect(dms('U0APPROVER')).toHaveLength(1);
    expect(dms('U0GROUPIE')).toHaveLength(1);
    expect(dms('U0REQUESTER')).toHaveLength(0);
  }, 60_000);
});
