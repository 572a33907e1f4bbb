// Secrets at rest: a dump of the database holds no plain sensitive value (the
// variable's value, a sensitive default, a plan artifact that holds them); a
// wrong key is an error naming the variable; the key file is made 0600 in the
// data directory; `deploy-bot secrets rotate` re-encrypts under a new key.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import {
  configureSecrets,
  decryptSecret,
  encryptSecret,
  readSecretVariables,
  SecretKeyError,
} from '../src/core/store/secrets.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const VALUE = 'plain-sensitive-value-7Q2x';
const DEFAULT = 'plain-sensitive-default-9K4m';

const CONFIG = `
deployments:
  - name: app
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    variables:
      api_key: { type: string, sensitive: true }
      db_password: { type: string, sensitive: true, default: "${DEFAULT}" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  // Like a Terraform plan file, the artifact holds the values.
  'app/plan.sh': `
printf 'TF_VAR_api_key=%s\\nTF_VAR_db_password=%s\\n' "$DEPLOY_VAR_api_key" "$DEPLOY_VAR_db_password" > "$DEPLOY_ARTIFACT_DIR/tfplan"
echo '{"changes":[{"address":"svc","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'app/apply.sh': `grep -q "TF_VAR_api_key=$DEPLOY_VAR_api_key" "$DEPLOY_ARTIFACT_DIR/tfplan" && echo "applied the planned values"`,
};

/** Every row of every table as text: what a data dump holds. */
async function dumpDatabase(url: string): Promise<string> {
  try {
    return execFileSync('pg_dump', ['--no-owner', url], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    // The machine's pg_dump may be older than the server (it refuses to dump it):
    // the same rows, read with SQL.
    if (
      !/version mismatch|ENOENT/.test(
        String((error as Error & { stderr?: string }).stderr ?? error),
      )
    )
      throw error;
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ s: string; t: string }[]>`
      select table_schema as s, table_name as t from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
    const out: string[] = [];
    for (const { s, t } of tables) {
      const rows = await sql.unsafe(`select x::text as row from "${s}"."${t}" x`);
      for (const r of rows) out.push(String(r.row));
    }
    return out.join('\n');
  } finally {
    await sql.end();
  }
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

describe('secrets at rest', () => {
  it('a dump of the database holds no plain sensitive value, and the run still applies the planned values', async () => {
    const run = await h.core.requestRun({
      deployment: 'app',
      variables: { api_key: VALUE },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    const done = await h.waitFor(run.id, ['completed', 'failed']);
    expect(done.status, done.error ?? '').toBe('completed');
    const logs = (await h.core.readLogs(run.id)).map((l) => l.line);
    expect(logs).toContain('applied the planned values');

    const dump = await dumpDatabase(h.db.url);
    expect(dump).toContain('enc:v1:');
    for (const secret of [VALUE, DEFAULT]) {
      expect(dump).not.toContain(secret);
      // bytea (plan artifacts) is dumped as hex.
      expect(dump).not.toContain(Buffer.from(secret).toString('hex'));
    }
  });

  it('a wrong key fails the run with a clear error naming the variable, and runs nothing', async () => {
    await Promise.all(h.workers.map((w) => w.stop()));
    const run = await h.core.requestRun({
      deployment: 'app',
      variables: { api_key: VALUE },
      actor: REQUESTER,
    });
    // This server now has another key than the one the run was stored under.
    configureSecrets({
      dataDir: h.dataDir,
      env: { DEPLOY_SECRET_KEY: randomBytes(32).toString('base64') },
    });
    try {
      await h.startWorker();
      const failed = await h.waitFor(run.id, 'failed');
      expect(failed.error).toMatch(
        new RegExp(
          `^cannot decrypt the sensitive variable (api_key|db_password) of ${run.id}: it was encrypted under another key \\(key id [0-9a-f]{8}; this server's key from DEPLOY_SECRET_KEY has id [0-9a-f]{8}\\)\\. .*; nothing was run$`,
        ),
      );
      expect(failed.recoveryHint?.text).toContain('give this server the secret key');
      const logs = (await h.core.readLogs(run.id)).map((l) => l.line).join('\n');
      expect(logs).not.toContain('running plan step');
    } finally {
      configureSecrets({ dataDir: h.dataDir });
    }
  });
});

describe('the key', () => {
  it('is made 0600 in the data directory when DEPLOY_SECRET_KEY is not set, and reused', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-key-'));
    try {
      configureSecrets({ dataDir: dir, env: {} });
      const box = encryptSecret('hello');
      expect(statSync(path.join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
      configureSecrets({ dataDir: dir, env: {} });
      expect(decryptSecret(box, 'x')).toBe('hello');
      configureSecrets({ dataDir: path.join(dir, 'other'), env: {} });
      expect(() => decryptSecret(box, 'the sensitive variable x of run-1')).toThrow(SecretKeyError);
    } finally {
      configureSecrets({ dataDir: h.dataDir });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deploy-bot secrets rotate re-encrypts every stored secret under the new key', async () => {
    const run = await h.core.requestRun({
      deployment: 'app',
      variables: { api_key: VALUE },
      actor: REQUESTER,
    });
    const oldKey = process.env.DEPLOY_SECRET_KEY!;
    const newKeyText = randomBytes(32).toString('base64');
    const out: string[] = [];
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: h.db.url,
      DEPLOY_BOT_DATA_DIR: h.dataDir,
      DEPLOY_NEW_SECRET_KEY: newKeyText,
    });
    let code: number;
    try {
      code = await main(['secrets', 'rotate'], {
        out: (t) => out.push(t),
        err: (t) => out.push(t),
      });
    } finally {
      process.env = saved;
    }
    expect(code, out.join('\n')).toBe(0);
    expect(out[0]).toMatch(
      /^re-encrypted the secrets of \d+ run\(s\), \d+ plan artifact\(s\) and \d+ published config version\(s\)/,
    );
    const sql = postgres(h.db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ secret_variables: Record<string, unknown> }[]>`
        select secret_variables from runs where id = ${run.id}`;
      const stored = { id: run.id, secretVariables: row!.secret_variables };
      configureSecrets({ dataDir: h.dataDir, env: { DEPLOY_SECRET_KEY: newKeyText } });
      expect(readSecretVariables(stored)).toEqual({ api_key: VALUE, db_password: DEFAULT });
      configureSecrets({ dataDir: h.dataDir, env: { DEPLOY_SECRET_KEY: oldKey } });
      expect(() => readSecretVariables(stored)).toThrow(/encrypted under another key/);
    } finally {
      await sql.end();
      configureSecrets({ dataDir: h.dataDir });
    }
  });
});
