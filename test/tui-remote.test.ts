// deploy-tui in remote mode: the real dashboard in a pseudo-terminal, over
// /api/v1 on serve's HTTP port, with no database variables in its environment.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness } from './support/api-server.ts';
import { type Harness, REQUESTER, startHarness } from './support/harness.ts';
import { type Pty, startPty } from './support/tui-pty.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const KEY = { enter: '\r' };

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'src/plan.sh': `echo "planning remotely"; echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'src/apply.sh': 'echo "applied remotely"\n',
};

let h: Harness;
let api: ApiHarness;
let home: string;
const ptys: Pty[] = [];

beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  api = await startApiHarness(h);
  home = mkdtempSync(path.join(os.tmpdir(), 'deploy-tui-remote-'));
});
afterAll(async () => {
  for (const p of ptys) p.kill();
  await Promise.all(ptys.map((p) => p.exited));
  await api?.close();
  await h?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

function tui(env: Record<string, string>, args: string[] = []): Pty {
  const p = startPty({
    command: process.execPath,
    args: [path.join(ROOT, 'bin', 'deploy-tui.js'), ...args],
    // Nothing of the server's: no DATABASE_URL, no config, no data directory.
    env: { PATH: process.env.PATH ?? '', HOME: home, TERM: 'xterm-256color', ...env },
    cwd: home,
    columns: 100,
    rows: 30,
  });
  ptys.push(p);
  return p;
}

describe('deploy-tui in remote mode', () => {
  it('shows runs live and approves as the token’s user, over the API', async () => {
    const token = await api.token('U0APPROVER', { name: 'dashboard' });
    const p = tui({ DEPLOY_SERVER: api.url, DEPLOY_TOKEN: token });
    await p.waitForText('as U0APPROVER', 60_000);
    const run = await h.core.requestRun({ deployment: 'web', actor: REQUESTER });
    await p.waitFor(
      (s) => new RegExp(`${run.id}.*Plan approval`).test(s),
      'the run awaiting plan approval',
    );
    p.write(KEY.enter);
    await p.waitForText('planning remotely');
    p.write('a');
    await p.waitForText(`Approve the plan of ${run.id}`);
    p.write('y');
    await p.waitForText(`plan approved: ${run.id} is now awaiting apply approval`);
    const audit = await h.core.transitions(run.id);
    expect(audit.at(-1)).toMatchObject({
      actor: 'U0APPROVER',
      via: 'tui',
      credential: expect.stringMatching(/^token "dashboard"/),
    });
    p.write('q');
    expect(await p.exited).toBe(0);
  }, 90_000);

  it('refuses --as in remote mode with a sentence (exit 2)', async () => {
    const token = await api.token('U0APPROVER');
    const p = tui({ DEPLOY_SERVER: api.url, DEPLOY_TOKEN: token }, ['--as', 'U0SOMEONE']);
    expect(await p.exited).toBe(2);
    expect(p.screen.raw).toContain('deploy-tui: --as is refused in remote mode');
  }, 30_000);
});
