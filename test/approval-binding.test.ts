// What an approval covers: every change after the plan was approved is refused
// at apply with a sentence naming what changed, and nothing is applied. Also
// what is refused before: a symlink out of the source (detect), a `../` step
// command (config load).

import { existsSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config/load.ts';
import { ConfigError } from '../src/core/errors.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: app
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: infra
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./tf }
    executor: { kind: terraform, binary: ./bin/terraform, timeout: 20s }
`;

const FAKE_TERRAFORM = `#!/bin/sh
case "$1" in
  version) echo "Terraform v1.9.0" ;;
  plan) for a in "$@"; do case "$a" in -out=*) echo plan > "\${a#-out=}" ;; esac; done ;;
  show) echo '{"format_version":"1.2","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b","change":{"actions":["create"]}}]}' ;;
  apply) echo "$1" >> "$DEPLOY_STATE_DIR/applied" ;;
  *) ;;
esac
`;

const FILES = {
  'app/plan.sh': `echo '{"changes":[{"address":"svc","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'app/apply.sh': 'echo applied >> "$DEPLOY_STATE_DIR/applied"; cat current',
  'app/v1.txt': 'one',
  'app/v2.txt': 'two',
  'app/vendor/lib/.git/HEAD': 'ref: refs/heads/main',
  'tf/main.tf': '# resources',
  'bin/terraform': FAKE_TERRAFORM,
};

let h: Harness;
let app: string;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  app = path.join(h.dir, 'app');
  symlinkSync('v1.txt', path.join(app, 'current'));
});
afterAll(async () => {
  await h?.close();
});

/** Plans and approves; `change` runs between the approvals; apply must be refused. */
async function refusedAfter(deployment: string, change: (runId: string) => Promise<void> | void) {
  const run = await h.core.requestRun({ deployment, actor: REQUESTER });
  await h.waitFor(run.id, 'awaiting_plan_approval');
  await h.core.approvePlan(run.id, APPROVER);
  await change(run.id);
  await h.core.confirmApply(run.id, APPROVER);
  const failed = await h.waitFor(run.id, ['failed', 'completed']);
  expect(failed.status).toBe('failed');
  expect(failed.failedPhase).toBe('execute');
  expect(failed.error).toContain('nothing was applied');
  const state = path.join(h.dataDir, 'state', deployment, 'applied');
  expect(existsSync(state)).toBe(false);
  return failed.error ?? '';
}

describe('an approval covers everything apply runs', () => {
  it('refuses a changed symlink target, naming the source', async () => {
    const error = await refusedAfter('app', () => {
      unlinkSync(path.join(app, 'current'));
      symlinkSync('v2.txt', path.join(app, 'current'));
    });
    expect(error).toMatch(
      /^the source \(a file, a symlink or a nested \.git changed\) changed after the plan was approved/,
    );
  });

  it('refuses a changed file under a nested .git directory', async () => {
    const error = await refusedAfter('app', () => {
      writeFileSync(path.join(app, 'vendor/lib/.git/HEAD'), 'ref: refs/heads/evil');
    });
    expect(error).toContain('the source (a file, a symlink or a nested .git changed) changed');
  });

  it("refuses a changed deployment config (the run's snapshot)", async () => {
    const sql = postgres(h.db.url, { max: 1, onnotice: () => {} });
    try {
      const error = await refusedAfter('app', async (runId) => {
        await sql`update runs set config = jsonb_set(config, '{executor,timeout}', '999000') where id = ${runId}`;
      });
      expect(error).toMatch(/^the run's deployment config changed after the plan was approved/);
    } finally {
      await sql.end();
    }
  });

  it('refuses another executor binary: terraform on this worker is not the one that planned', async () => {
    const binary = path.join(h.dir, 'bin', 'terraform');
    const error = await refusedAfter('infra', () => {
      writeFileSync(binary, FAKE_TERRAFORM.replace('v1.9.0', 'v1.9.0-patched'), { mode: 0o755 });
    });
    expect(error).toMatch(
      /^the executor binary \(terraform on this worker is not the one that planned\) changed/,
    );
  });

  it('applies when nothing changed', async () => {
    const run = await h.core.requestRun({ deployment: 'app', actor: REQUESTER });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    const done = await h.waitFor(run.id, ['completed', 'failed']);
    expect(done.status, done.error ?? '').toBe('completed');
    rmSync(path.join(h.dataDir, 'state', 'app', 'applied'));
  });
});

describe('refused before anything runs', () => {
  it('a symlink pointing outside the source fails detect, naming the link', async () => {
    symlinkSync('../../etc/passwd', path.join(app, 'escape'));
    try {
      const run = await h.core.requestRun({ deployment: 'app', actor: REQUESTER });
      const failed = await h.waitFor(run.id, 'failed');
      expect(failed.failedPhase).toBe('detect');
      expect(failed.error).toBe(
        "the source's symlink escape points outside the source (../../etc/passwd); nothing was run",
      );
    } finally {
      unlinkSync(path.join(app, 'escape'));
    }
  });

  it('an absolute symlink fails detect too', async () => {
    symlinkSync('/etc/hostname', path.join(app, 'vendor', 'abs'));
    try {
      const run = await h.core.requestRun({ deployment: 'app', actor: REQUESTER });
      const failed = await h.waitFor(run.id, 'failed');
      expect(failed.error).toContain("the source's symlink vendor/abs points outside the source");
    } finally {
      unlinkSync(path.join(app, 'vendor', 'abs'));
    }
  });

  it('a step command that leaves the source is refused when the config loads', () => {
    const config = (apply: string) => `
deployments:
  - name: x
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./x }
    executor: { kind: script, plan: ./plan.sh, apply: ${JSON.stringify(apply)} }
`;
    const problems = (apply: string) => {
      try {
        parseConfig(config(apply), '/tmp/deploy.config.yaml');
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problems('../../../../bin/sh -c "id"')).toEqual([
      'deploy.config.yaml: deployments[0].executor.apply: ../../../../bin/sh leaves the source ("../"): use a path inside it (./script.sh) or a bare program on PATH (terraform)',
    ]);
    expect(problems('./bin/../../x.sh')[0]).toContain('leaves the source');
    expect(problems('/bin/sh -c id')[0]).toContain('/bin/sh is outside the source');
    expect(problems('./apply.sh')).toEqual([]);
    expect(problems('terraform apply')).toEqual([]);
  });
});
