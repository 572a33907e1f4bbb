// End to end: the real deploy-tui in a pseudo-terminal against a real database,
// while the core (as the bot or the CLI would) creates and moves runs. Asserts
// what the screen shows and that keys act. Waits for text, never fixed sleeps.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, REQUESTER, startHarness } from './support/harness.ts';
import { type Pty, startPty } from './support/tui-pty.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEY = { enter: '\r', escape: '\u001b', tab: '\t', pageUp: '\u001b[5~', up: '\u001b[A' };

const CONFIG = `
deployments:
  - name: web
    environment: production
    description: test web tier
    approvers: [U0APPROVER]
    approvalTimeout: 1h
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;

const FILES = {
  'src/plan.sh': `
echo "planning image $DEPLOY_VAR_image_tag"
echo '{"changes":[{"address":"service.web","action":"update"},{"address":"dns.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"
`,
  'src/apply.sh': `
i=0
while [ $i -lt 50 ]; do echo "apply step $i"; i=$((i+1)); done
echo '{"url":"http://127.0.0.1/web"}' > "$DEPLOY_OUTPUTS_FILE"
echo "applied $DEPLOY_VAR_image_tag"
`,
};

let h: Harness;
const ptys: Pty[] = [];

beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});

afterAll(async () => {
  for (const p of ptys) p.kill();
  await Promise.all(ptys.map((p) => p.exited));
  await h?.close();
});

function tuiEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of [
    'NO_COLOR',
    'FORCE_COLOR',
    'DEPLOY_TUI_USER',
    'NODE_ENV',
    'VITEST',
    'VITEST_WORKER_ID',
  ])
    delete env[k];
  return {
    ...env,
    TERM: 'xterm-256color',
    DATABASE_URL: h.db.url,
    DEPLOY_CONFIG: path.join(h.dir, 'deploy.config.yaml'),
    DEPLOY_BOT_DATA_DIR: h.dataDir,
    ...extra,
  };
}

function tui(env: NodeJS.ProcessEnv, columns = 100, rows = 30, args: string[] = []): Pty {
  const p = startPty({
    command: process.execPath,
    args: [path.join(ROOT, 'bin', 'deploy-tui.js'), ...args],
    env,
    cwd: h.dir,
    columns,
    rows,
  });
  ptys.push(p);
  return p;
}

const fits = (screen: string, columns: number) =>
  screen.split('\n').every((l) => [...l].length <= columns);

describe('deploy-tui in a terminal', () => {
  it('watches, approves, applies and reads the log of a run started elsewhere', async () => {
    const p = tui(tuiEnv({ DEPLOY_TUI_USER: 'U0APPROVER' }));
    await p.waitForText('as U0APPROVER', 60_000);
    await p.waitForText('no runs yet');

    // Started from "the CLI": it appears without a key press.
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '4.2.0' },
      actor: REQUESTER,
    });
    await p.waitForText(run.id);
    await p.waitFor(
      (s) => new RegExp(`${run.id}.*Plan approval`).test(s),
      'the run awaiting plan approval',
    );
    expect(fits(p.screen.text(), 100)).toBe(true);

    // Open it: detail and live log.
    p.write(KEY.enter);
    await p.waitForText('planning image 4.2.0');
    let screen = await p.waitForText('a approve plan');
    expect(screen).toContain('+1 to add, ~1 to change, -0 to destroy');

    // Approve behind a confirmation.
    p.write('a');
    await p.waitForText(`Approve the plan of ${run.id}`);
    p.write('y');
    await p.waitForText(`plan approved: ${run.id} is now awaiting apply approval`);
    expect((await h.core.getRun(run.id)).approvals).toEqual([
      expect.objectContaining({ stage: 'plan', by: 'U0APPROVER', via: 'tui' }),
    ]);

    // Apply, and watch the log follow to the end.
    p.write('x');
    await p.waitForText(`Apply ${run.id} to web (production) now`);
    p.write('y');
    await p.waitForText('applied 4.2.0');
    screen = await p.waitForText('✓ Completed');
    expect(screen).toContain('following');

    // Scroll the log back, then jump to the end again.
    p.write(KEY.tab);
    p.write('g');
    await p.waitForText('planning image 4.2.0');
    await p.waitForText('paused');
    p.write('G');
    await p.waitForText('following');

    // A smaller terminal: the screen follows and nothing wraps.
    p.resize(80, 24);
    await p.waitFor((s) => fits(s, 80) && s.includes('esc back'), 'the 80x24 layout');

    // Back to the list, the help, and quit.
    p.write(KEY.escape);
    await p.waitFor(
      (s) => s.includes('1 runs') && new RegExp(`› ${run.id}.*Completed`).test(s),
      'the list with the completed run',
    );
    p.write('?');
    await p.waitForText('deploy-tui keys');
    p.write(' ');
    await p.waitForText('1 runs');
    p.write('q');
    expect(await p.exited).toBe(0);
    // The alternate screen was left: the shell's screen is back.
    expect(p.screen.raw).toContain('\u001b[?1049l');
  });

  it('is read-only without an identity, honours NO_COLOR, and shows runs cancelled elsewhere', async () => {
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '5.0.0' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const p = tui(tuiEnv({ NO_COLOR: '1' }), 80, 24);
    await p.waitForText('read-only', 60_000);
    await p.waitForText(run.id);
    p.write('a');
    await p.waitForText('read-only: set DEPLOY_TUI_USER');
    await h.core.cancelRun(run.id, REQUESTER, { reason: 'from slack' });
    await p.waitFor((s) => new RegExp(`${run.id}.*Cancelled`).test(s), 'the cancelled run');
    // No colour codes at all (bold and inverse are not colour).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: colour escape sequences are what it looks for
    expect(p.screen.raw).not.toMatch(/\u001b\[(?:[0-9;]*;)?(?:3[0-79]|9[0-7]|38;[25])[;m]/);
    p.write('q');
    expect(await p.exited).toBe(0);
  });

  it('says clearly when the database cannot be reached, and exits 1', async () => {
    const p = tui(
      tuiEnv({ DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:9/nowhere' }),
      100,
      30,
    );
    const code = await p.exited;
    expect(code).toBe(1);
    const screen = p.screen.text();
    expect(screen).toContain(
      'deploy-tui: cannot reach the database (postgres://nobody:***@127.0.0.1:9/nowhere)',
    );
    expect(screen).not.toContain('secret');
  });
});
