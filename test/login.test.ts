// Signing in through Slack, over real HTTP: `deploy-bot login` prints a code,
// a signed `/deploy login CODE` binds a token to that Slack user, the waiting
// CLI collects it; then the CLI works remotely with no database, config or
// data directory, and impersonation attempts are refused.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { type BotHarness, startBotHarness } from './support/bot-harness.ts';
import { cli } from './support/cli.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0ALICE, U0BOB]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'app/plan.sh': `echo planning; echo '{"changes":[{"address":"web.app","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': 'echo applied\n',
};

const ROOT = path.resolve(import.meta.dirname, '..');
let b: BotHarness;
let home: string;
let server: string;
const saved = { ...process.env };

beforeAll(async () => {
  b = await startBotHarness({ config: CONFIG, files: FILES, api: true });
  server = b.bot.url;
  home = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-login-'));
  process.env.XDG_CONFIG_HOME = path.join(home, 'config');
  // The client has no database, config or data directory.
  delete process.env.DATABASE_URL;
  delete process.env.DEPLOY_CONFIG;
  delete process.env.DEPLOY_USER;
  delete process.env.DEPLOY_SERVER;
  delete process.env.DEPLOY_TOKEN;
  process.env.DEPLOY_BOT_DATA_DIR = path.join(home, 'no-data-here');
});
afterAll(async () => {
  process.env = saved;
  await b?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Starts `deploy-bot login` in this process; resolves the code once printed. */
function startLogin() {
  const out: string[] = [];
  const err: string[] = [];
  const done = main(['login', '--server', server], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  });
  const code = (async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = /\/deploy login ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(out.join('\n'));
      if (found) return found[1]!;
      if (Date.now() > deadline)
        throw new Error(`no code printed: ${out.join('\n')} ${err.join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return { code, done, out, err };
}

describe('deploy-bot login through Slack', () => {
  let code: string;

  it('prints a code; /deploy login CODE in Slack signs the waiting CLI in as that Slack user', async () => {
    const login = startLogin();
    code = await login.code;
    expect(login.out.join('\n')).toContain(`/deploy login ${code}`);

    // Another process that knows the code but not the CLI's secret gets nothing.
    const thief = await fetch(`${server}/api/v1/login/collect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, verifier: 'x'.repeat(43) }),
    });
    expect(thief.status).toBe(404);

    const typed = await b.command(`login ${code.toLowerCase()}`, { user: 'U0ALICE' });
    expect(typed.status).toBe(200);
    const [reply] = await b.replies(typed.responseUrl);
    expect(reply).toContain('Signed in as <@U0ALICE>');
    expect(reply).toContain(os.hostname());
    expect(reply).toContain('/deploy logout');
    expect(reply).toContain('/deploy tokens');

    expect(await login.done).toBe(0);
    expect(login.out.join('\n')).toMatch(
      /signed in as <@U0ALICE> \(token kept in .+credentials\.json\)/,
    );
    const file = path.join(home, 'config', 'deploy-bot', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')).servers[server];
    expect(stored.user).toBe('U0ALICE');
    expect(stored.token).toMatch(/^dbt_/);

    // No token in plain text in the database or any log.
    const rows = await b.h.core.connection.sql`select * from api_tokens`;
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(stored.token.slice(4));
    expect(
      JSON.stringify(await b.h.core.connection.sql`select * from login_requests`),
    ).not.toContain(code);
    expect(JSON.stringify(b.logs)).not.toContain(stored.token.slice(4));
  }, 30_000);

  it('a code works once', async () => {
    const again = await b.command(`login ${code}`, { user: 'U0BOB' });
    expect((await b.replies(again.responseUrl))[0]).toContain('that code was used already');
    const unknown = await b.command('login ZZZZ-9999', { user: 'U0BOB' });
    expect((await b.replies(unknown.responseUrl))[0]).toContain(
      'no sign-in is waiting for that code',
    );
  });

  it('works remotely as the signed-in user; --as and --config are refused with a sentence', async () => {
    const run = await cli('execute', 'web', '--server', server, '--wait', '--json');
    expect(run.err).toBe('');
    const view = JSON.parse(run.out);
    expect(view).toMatchObject({
      requestedBy: 'U0ALICE',
      requestedVia: 'cli',
      status: 'awaiting_plan_approval',
    });

    const as = await cli('approve', view.id, '--server', server, '--as', 'U0BOB');
    expect(as).toMatchObject({
      code: 2,
      err: `deploy-bot: --as is refused in remote mode: ${server} knows who you are from your token (signed in as U0ALICE); someone else signs in with their own deploy-bot login`,
    });
    const config = await cli('execute', 'web', '--server', server, '--config', '/tmp/evil.yaml');
    expect(config.code).toBe(2);
    expect(config.err).toMatch(
      /^deploy-bot: --config is refused in remote mode: runs use the config/,
    );
    // Alice requested it: she may not approve it herself; nothing changes.
    const self = await cli('approve', view.id, '--server', server);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/you requested this run/);
    expect((await b.h.core.getRun(view.id)).status).toBe('awaiting_plan_approval');

    const audit = await cli('audit', view.id, '--server', server);
    expect(audit.out).toMatch(
      /U0ALICE \(cli\): requested execute \[token "login from .+" \(tok_[0-9a-f]+\)\]/,
    );
    expect(existsSync(path.join(home, 'no-data-here'))).toBe(false);
  });

  it('a real deploy-bot process with no database variables lists runs and follows a log', async () => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, 'config'),
      DEPLOY_SERVER: server,
    };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin/deploy-bot.js'), 'list', '--json'],
      { env, cwd: home },
    );
    const runs = JSON.parse(stdout);
    expect(runs[0]).toMatchObject({ deployment: 'web', requestedBy: 'U0ALICE' });
    const logs = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin/deploy-bot.js'), 'logs', runs[0].id],
      { env, cwd: home },
    );
    expect(logs.stdout).toContain('planning');
    expect(existsSync(path.join(home, '.deploy-bot'))).toBe(false);
  }, 30_000);

  it('/deploy tokens lists them; /deploy logout all revokes them: the CLI is told to sign in again', async () => {
    const list = await b.command('tokens', { user: 'U0ALICE' });
    const [listed] = await b.replies(list.responseUrl);
    expect(listed).toContain('Your deploy-bot tokens (1)');
    expect(listed).toContain(`login from ${os.hostname()}`);

    const logout = await b.command('logout all', { user: 'U0ALICE' });
    expect((await b.replies(logout.responseUrl))[0]).toContain('Revoked 1 token(s)');
    const after = await cli('list', '--server', server);
    expect(after).toMatchObject({
      code: 1,
      err: 'deploy-bot: this token was revoked: run `deploy-bot login --server URL` to sign in again',
    });
    const out = await cli('logout', '--server', server);
    expect(out.out).toMatch(/^deleted the token for/);
    const notSignedIn = await cli('list', '--server', server);
    expect(notSignedIn.err).toBe(
      `deploy-bot: you are not signed in to ${server}: run deploy-bot login --server ${server} (or set DEPLOY_TOKEN)`,
    );
  });
});

describe('login codes', () => {
  it('expire after 10 minutes: the Slack reply says so and nothing is signed in', async () => {
    const started = await fetch(`${server}/api/v1/login/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ verifierHash: 'a'.repeat(64), clientHost: 'old-laptop' }),
    });
    expect(started.status).toBe(201);
    const { code, expiresAt } = (await started.json()) as { code: string; expiresAt: string };
    const minutes = (Date.parse(expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(9.9);
    expect(minutes).toBeLessThanOrEqual(10);
    await b.h.core.connection
      .sql`update login_requests set expires_at = now() - interval '1 second' where client_host = 'old-laptop'`;
    const typed = await b.command(`login ${code}`, { user: 'U0BOB' });
    expect((await b.replies(typed.responseUrl))[0]).toContain(
      'that code expired (codes last 10 minutes)',
    );
    const [row] = await b.h.core.connection
      .sql`select user_id from login_requests where client_host = 'old-laptop'`;
    expect(row?.user_id).toBeNull();
  });
});
