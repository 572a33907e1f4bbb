import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRefusal } from '../src/core/errors.ts';
import { cli } from './support/cli.ts';
import { type Harness, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    variables:
      image_tag: { type: string, required: true }
      token: { type: string, sensitive: true, default: "cli-secret-token" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'app/plan.sh': `echo "plan $DEPLOY_VAR_image_tag"; echo '{"changes":[{"address":"web.app","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh':
    'echo "apply $DEPLOY_VAR_image_tag"; echo \'{"url":"http://web"}\' > "$DEPLOY_OUTPUTS_FILE"\n',
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  process.env.DATABASE_URL = h.db.url;
  process.env.DEPLOY_CONFIG = path.join(h.dir, 'deploy.config.yaml');
  process.env.DEPLOY_BOT_DATA_DIR = h.dataDir;
  delete process.env.DEPLOY_USER;
});
afterAll(async () => {
  await h?.close();
});

describe('deploy-bot CLI', () => {
  it('has --help everywhere', async () => {
    const general = await cli('--help');
    expect(general.code).toBe(0);
    expect(general.out).toMatch(/^deploy-bot: plan, approve twice/);
    for (const command of [
      'execute',
      'destroy',
      'approve',
      'apply',
      'cancel',
      'status',
      'list',
      'logs',
      'serve',
      'worker',
      'migrate',
    ]) {
      const r = await cli(command, '--help');
      expect(r.code, command).toBe(0);
      expect(r.out, command).toMatch(new RegExp(`^Usage: deploy-bot ${command}`));
    }
    expect((await cli('help', 'apply')).out).toMatch(/^Usage: deploy-bot apply/);
  });

  it('explains wrong usage with exit code 2', async () => {
    expect(await cli('deploy', 'web')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^deploy-bot: unknown command "deploy"/),
    });
    expect(await cli('execute', 'web', 'image_tag=1')).toMatchObject({
      code: 2,
      err: 'deploy-bot: who is acting? Pass --as U… (your Slack user id) or set DEPLOY_USER',
    });
    expect((await cli('execute', '--as', 'U1')).err).toMatch(
      /^deploy-bot: execute needs a deployment name/,
    );
    expect((await cli('list', '--status', 'weird')).err).toMatch(/--status weird is not a status/);
    expect((await cli('logs', 'run-x', '--tail', 'lots')).code).toBe(2);
    expect((await cli('status', '--bogus')).err).toMatch(/Unknown option '--bogus'/);
  });

  it('writes its own sentence for a refusal: the core says what is wrong, the CLI what helps', async () => {
    const core = await h.core.getRun('run-nosuchrun').catch((e: unknown) => e);
    expect(isRefusal(core) && core.message).toBe('there is no run run-nosuchrun: check the id');
    expect(await cli('status', 'run-nosuchrun')).toMatchObject({
      code: 1,
      err: 'deploy-bot: there is no run run-nosuchrun: check the id (deploy-bot list shows recent runs)',
    });
  });

  it('refuses with exit code 1 and the exact reason on stderr', async () => {
    const unknown = await cli('execute', 'webb', 'image_tag=1', '--as', 'U0REQ');
    expect(unknown).toMatchObject({
      code: 1,
      err: 'deploy-bot: there is no deployment "webb": did you mean web? (deployments: web)',
    });
    const missing = await cli('execute', 'web', '--as', 'U0REQ');
    expect(missing).toMatchObject({
      code: 1,
      err: 'deploy-bot: missing required variable image_tag (string)',
    });
    const run = await cli('status', 'run-doesnotexist');
    expect(run).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^deploy-bot: there is no run run-doesnotexist/),
    });
  });

  it('drives a run through both approvals, script-friendly with --json', async () => {
    const exec = await cli(
      'execute',
      'web',
      'image_tag=2.0.0',
      '--as',
      'U0REQ',
      '--wait',
      '--json',
    );
    expect(exec.code).toBe(0);
    const planned = JSON.parse(exec.out);
    expect(planned).toMatchObject({
      deployment: 'web',
      status: 'awaiting_plan_approval',
      plan: { add: 0, change: 1, destroy: 0 },
    });
    for (const key of [
      'id',
      'deployment',
      'environment',
      'kind',
      'status',
      'currentPhase',
      'failedPhase',
      'sourceSummary',
      'plan',
      'approvals',
      'outputs',
      'error',
      'recoveryHint',
      'requestedBy',
      'createdAt',
      'updatedAt',
    ]) {
      expect(planned, key).toHaveProperty(key);
    }
    expect(planned.variables.token).toBe('••••••');
    const self = await cli('approve', planned.id, '--as', 'U0REQ');
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/you are not an approver of web/);
    const approved = await cli(
      'approve',
      planned.id,
      '--as',
      'U0APPROVER',
      '--plan',
      planned.plan.id,
    );
    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(/Awaiting apply approval/);
    expect(approved.out).toContain(`deploy-bot apply ${planned.id}`);
    const applied = await cli('apply', planned.id, '--as', 'U0APPROVER', '--wait');
    expect(applied.code).toBe(0);
    expect(applied.out).toMatch(/apply 2\.0\.0/);
    expect(applied.out).toMatch(/✓ Completed/);
    const logs = await cli('logs', planned.id, '-n', '3');
    expect(logs.out.split('\n')).toHaveLength(3);
    const list = await cli('list', '--status', 'all', '--json');
    expect(JSON.parse(list.out).map((r: { id: string }) => r.id)).toContain(planned.id);
    const audit = await cli('audit', planned.id);
    expect(audit.out).toMatch(/awaiting_apply_approval\s+→ applying\s+U0APPROVER \(cli\)/);
    const deployments = await cli('deployments');
    expect(deployments.out).toMatch(/^web\s+production\s+idle/);
    // How steps run here: bubblewrap is installed on the machines that run the tests.
    expect(deployments.out).toMatch(/^steps: sandboxed in bubblewrap \(.*bwrap\)/m);
  });

  it('works as a real process: exit codes, stdout and stderr', async () => {
    const run = JSON.parse(
      (await cli('execute', 'web', 'image_tag=3', '--as', 'U0REQ', '--json')).out,
    );
    const bin = path.resolve(import.meta.dirname, '../bin/deploy-bot.js');
    const exec = promisify(execFile);
    const ok = await exec(process.execPath, [bin, 'status', run.id, '--json'], {
      env: process.env,
    });
    expect(JSON.parse(ok.stdout).id).toBe(run.id);
    const refused = await exec(process.execPath, [bin, 'cancel', run.id, '--as', 'U0STRANGER'], {
      env: process.env,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(
      /^deploy-bot: only the requester \(U0REQ\) or an approver of web/,
    );
  });
});
