// `deploy-bot token create|list|revoke` (local mode: database access).

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../src/core/auth/tokens.ts';
import { cli } from './support/cli.ts';
import { type Harness, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0ALICE]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./plan.sh, timeout: 30s }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: { 'app/plan.sh': 'echo hi\n' } });
  process.env.DATABASE_URL = h.db.url;
  process.env.DEPLOY_CONFIG = path.join(h.dir, 'deploy.config.yaml');
  process.env.DEPLOY_BOT_DATA_DIR = h.dataDir;
  delete process.env.DEPLOY_SERVER;
});
afterAll(async () => {
  await h?.close();
});

describe('deploy-bot token', () => {
  it('creates a token shown once, stored only as a hash, with an expiry', async () => {
    const created = await cli(
      'token',
      'create',
      '--user',
      'U0ALICE',
      '--name',
      'laptop',
      '--expires',
      '1d',
    );
    expect(created.code).toBe(0);
    const secret = created.out.trim();
    expect(secret).toMatch(/^dbt_[A-Za-z0-9_-]{43}$/);
    expect(created.err).toMatch(
      /^token tok_[0-9a-f]+ "laptop" for U0ALICE, expires .+ It is shown this once: only its hash is stored/,
    );
    const rows = await h.core.connection.sql`select * from api_tokens`;
    expect(JSON.stringify(rows)).not.toContain(secret.slice(4));
    const verified = await verifyToken(h.core.db, secret);
    expect(verified).toMatchObject({
      ok: true,
      token: { userId: 'U0ALICE', name: 'laptop', kind: 'personal' },
    });
    if (verified.ok) {
      const days = (Date.parse(verified.token.expiresAt) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(0.99);
      expect(days).toBeLessThan(1.01);
    }
    const defaulted = await cli('token', 'create', '--user', 'automation:ci', '--json');
    expect(JSON.parse(defaulted.out)).toMatchObject({
      userId: 'automation:ci',
      kind: 'automation',
      name: 'ci',
    });
    const days = (Date.parse(JSON.parse(defaulted.out).expiresAt) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });

  it('lists and revokes; refuses a bad user or lifetime with exit 2', async () => {
    const list = await cli('token', 'list', '--user', 'U0ALICE');
    expect(list.out).toMatch(/^tok_[0-9a-f]+ {2}laptop {2}expires/);
    const id = list.out.split(' ')[0]!;
    expect(await cli('token', 'revoke', id, '--user', 'U0ALICE')).toMatchObject({
      code: 0,
      out: 'revoked 1 token(s) of U0ALICE',
    });
    expect((await cli('token', 'list', '--user', 'U0ALICE')).out).toBe('U0ALICE has no tokens');
    expect(await cli('token', 'create', '--user', 'alice')).toMatchObject({
      code: 2,
      err: 'deploy-bot: --user alice must be a Slack user id (U… or W…) or an automation identity (automation:NAME, e.g. automation:ci)',
    });
    expect(await cli('token', 'create', '--user', 'U0ALICE', '--expires', 'forever')).toMatchObject(
      {
        code: 2,
        err: 'deploy-bot: --expires forever is not a lifetime: use e.g. 30d, 12h or 90m (at most 366d)',
      },
    );
  });

  it('records --as in the audit as an administrator tool, with the OS user', async () => {
    const run = await cli('execute', 'web', '--as', 'U0ALICE', '--json');
    const id = JSON.parse(run.out).id;
    const audit = await cli('audit', id, '--json');
    expect(JSON.parse(audit.out)[0]).toMatchObject({
      actor: 'U0ALICE',
      via: 'cli',
      credential: expect.stringMatching(/^--as with database access \(OS user .+\)$/),
    });
    await cli('cancel', id, '--as', 'U0ALICE');
  });
});
