// The server's config is the one authority: serve/worker publish it as a
// version, every run records and executes the version it was requested under,
// and a client cannot bring its own (`--config evil.yaml`).

import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployCore } from '../src/core/api/core.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { configHash, describePublication, shortVersion } from '../src/core/config/versions.ts';
import { cli } from './support/cli.ts';
import { type Harness, startHarness } from './support/harness.ts';

const SERVER_CONFIG = `
deployments:
  - name: web-prod
    environment: production
    approvers: [U0ALICE, U0BOB]
    allowSelfApproval: false
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;

const evilConfig = (dir: string) => `
deployments:
  - name: web-prod
    environment: production
    approvers: [U0MALLORY]
    allowSelfApproval: true
    source: { kind: directory, path: ${dir}/evil }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;

const FILES = {
  // Steps see only their workspace and their state directory (the sandbox): markers go there.
  'app/plan.sh': `touch "$DEPLOY_STATE_DIR/server-plan-ran"; echo '{"changes":[{"address":"web.app","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': 'echo applied\n',
};

let h: Harness;
let evilFile: string;
let evilMarker: string;
let serverMarker: string;

beforeAll(async () => {
  h = await startHarness({ config: SERVER_CONFIG, files: {} });
  // The scripts need the harness's directory in them.
  for (const [rel, body] of Object.entries(FILES)) h.script(rel, body.replaceAll('{{dir}}', h.dir));
  // The state directory of web-prod, which the evil config's steps would share.
  const state = path.join(h.dataDir, 'state', 'web-prod');
  evilMarker = path.join(state, 'evil-plan-ran');
  serverMarker = path.join(state, 'server-plan-ran');
  h.script(
    'evil/plan.sh',
    `touch "$DEPLOY_STATE_DIR/evil-plan-ran"; echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"\n`,
  );
  h.script('evil/apply.sh', `touch "$DEPLOY_STATE_DIR/evil-plan-ran.apply"\n`);
  evilFile = path.join(h.dir, 'evil.yaml');
  writeFileSync(evilFile, evilConfig(h.dir));
  process.env.DATABASE_URL = h.db.url;
  process.env.DEPLOY_BOT_DATA_DIR = h.dataDir;
  delete process.env.DEPLOY_USER;
});
afterAll(async () => {
  delete process.env.DEPLOY_CONFIG;
  await h?.close();
});

describe("the server's config", () => {
  it('is published by the server as a version: content hash, when, by which process', async () => {
    const publication = h.core.publication;
    expect(publication).not.toBeNull();
    expect(publication?.replaced).toBeNull();
    const version = publication!.version;
    expect(version.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(version.hash).toBe(
      configHash(parseConfig(SERVER_CONFIG, path.join(h.dir, 'deploy.config.yaml'))),
    );
    expect(version.publishedBy).toContain(h.core.instanceId);
    expect(Date.now() - version.publishedAt.getTime()).toBeLessThan(60_000);
    expect(describePublication(publication!)).toMatch(
      new RegExp(`^published config version ${shortVersion(version.hash)} \\(1 deployment\\(s\\)`),
    );
  });

  it('refuses --config on a run command with a sentence, and changes nothing', async () => {
    const attempt = await cli('execute', 'web-prod', '--config', evilFile, '--as', 'U0MALLORY');
    expect(attempt.code).toBe(2);
    expect(attempt.err).toBe(
      "deploy-bot: --config is for serve and worker only: a run always uses the config the server published (deploy-bot status RUN shows its configVersion); to change it, edit the server's config and restart deploy-bot serve",
    );
    expect(await h.core.listRuns()).toEqual([]);
    expect(existsSync(evilMarker)).toBe(false);
  });

  it("runs a client's request under the server's published config: the evil plan never runs, U0MALLORY cannot approve", async () => {
    // A client's own DEPLOY_CONFIG is not used for runs either.
    process.env.DEPLOY_CONFIG = evilFile;
    const requested = await cli('execute', 'web-prod', '--as', 'U0MALLORY', '--wait', '--json');
    expect(requested.err).toBe('');
    expect(requested.code).toBe(0);
    const run = JSON.parse(requested.out);
    expect(run).toMatchObject({
      status: 'awaiting_plan_approval',
      requestedBy: 'U0MALLORY',
      configVersion: h.core.publication!.version.hash,
      plan: { change: 1 },
    });
    expect(existsSync(serverMarker)).toBe(true);
    expect(existsSync(evilMarker)).toBe(false);

    const status = await cli('status', run.id, '--json');
    expect(JSON.parse(status.out).configVersion).toBe(h.core.publication!.version.hash);
    expect((await cli('status', run.id)).out).toMatch(
      new RegExp(`config: +${shortVersion(h.core.publication!.version.hash)}`),
    );

    const approve = await cli('approve', run.id, '--as', 'U0MALLORY');
    expect(approve.code).toBe(1);
    expect(approve.err).toMatch(/approv/);
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_plan_approval');
    expect((await h.core.getRun(run.id)).approvals).toEqual([]);

    const alice = await cli('approve', run.id, '--as', 'U0ALICE', '--json');
    expect(alice.code).toBe(0);
    expect(JSON.parse(alice.out).status).toBe('awaiting_apply_approval');
    const cancel = await cli('cancel', run.id, '--as', 'U0ALICE');
    expect(cancel.code).toBe(0);
    expect(existsSync(`${evilMarker}.apply`)).toBe(false);
  });

  it('refuses a run while no server has published a config', async () => {
    const { createTestDatabase } = await import('./support/db.ts');
    const empty = await createTestDatabase();
    const core = await DeployCore.open({
      databaseUrl: empty.url,
      dataDir: h.dataDir,
      migrate: false,
    });
    try {
      await expect(
        core.requestRun({ deployment: 'web-prod', actor: { id: 'U0ALICE', via: 'cli' } }),
      ).rejects.toMatchObject({
        code: 'no_config',
        message: expect.stringMatching(/^no server has published its config yet: start the server/),
      });
    } finally {
      await core.close();
      await empty.drop();
    }
  });

  it('a worker that loads another config says so at start; runs requested before keep their version', async () => {
    const before = await h.core.requestRun({
      deployment: 'web-prod',
      actor: { id: 'U0ALICE', via: 'cli' },
    });
    const child = spawn(
      process.execPath,
      [path.resolve(import.meta.dirname, '../bin/deploy-bot.js'), 'worker', '--concurrency', '1'],
      {
        env: {
          ...process.env,
          DATABASE_URL: h.db.url,
          DEPLOY_CONFIG: evilFile,
          DEPLOY_BOT_DATA_DIR: h.dataDir,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const deadline = Date.now() + 20_000;
      while (!stdout.includes('deploy-bot worker:') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const serverHash = shortVersion(h.core.publication!.version.hash);
      expect(stderr).toMatch(
        new RegExp(
          `the config this process loaded differs from the published one: config version [0-9a-f]{12} \\(1 deployment\\(s\\) from ${evilFile.replaceAll('.', '\\.')}\\) replaces version ${serverHash}`,
        ),
      );
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    const after = await h.core.getRun(before.id);
    expect(after.configVersion).toBe(h.core.publication!.version.hash);
    await h.core.cancelRun(before.id, { id: 'U0ALICE', via: 'cli' });
  }, 40_000);
});
