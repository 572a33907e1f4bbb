// What a step can see, with real bubblewrap (/usr/bin/bwrap) and real processes:
// a plan step that tries to read the server's secrets finds none, and the run log
// holds none. Also the step runner's own environment (sandbox off).

import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStep } from '../src/core/executors/process.ts';
import { sandboxStatus, stepUser } from '../src/core/executors/sandbox.ts';
import { type Harness, REQUESTER, startHarness } from './support/harness.ts';

// The server's secrets, as a real `deploy-bot serve` has them in its environment.
const SECRETS = {
  SLACK_BOT_TOKEN: 'xoxb-sandbox-test-bot-token-0001',
  SLACK_SIGNING_SECRET: 'sandbox-test-signing-secret-0002',
  DEPLOY_API_TOKEN: 'sandbox-test-api-token-0003',
};
const PG_PASSWORD = 'sandbox-test-postgres-password-0004';
const OTHER_STATE_SECRET = 'other-deployment-state-secret-0005';
Object.assign(process.env, SECRETS);

const CONFIG = `
deployments:
  - name: probe
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./probe }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: parent
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./probe }
    executor: { kind: script, plan: ./parent.sh, apply: ./apply.sh, timeout: 20s }
  - name: other
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./probe }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: offline
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./probe }
    variables: { port: { type: string } }
    executor: { kind: script, plan: ./net.sh, apply: ./apply.sh, timeout: 20s }
    sandbox: { network: false }
  - name: online
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./probe }
    variables: { port: { type: string } }
    executor: { kind: script, plan: ./net.sh, apply: ./apply.sh, timeout: 20s }
  - name: declared
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./probe }
    executor: { kind: script, plan: ./paths.sh, apply: ./apply.sh, timeout: 20s }
    sandbox:
      paths:
        - { path: "{{dir}}/shared-ro" }
        - { path: "{{dir}}/shared-rw", access: rw }
`;

// Every read an attacker would try, each printing what it found.
const PROBE = `#!/bin/sh
echo "uid=$(id -u) user=$(id -un 2>/dev/null)"
echo "ppid environ:"; tr '\\0' '\\n' 2>&1 < /proc/$PPID/environ || true
# (2>&1 first: the shell's own "cannot open" then goes to stdout too, in order.)
for f in /proc/[0-9]*/environ; do echo "environ $f:"; tr '\\0' '\\n' 2>&1 < "$f" || true; done
echo "credentials:"; cat "$DEPLOY_STATE_DIR/../../postgres.json" 2>&1 || true
echo "credentials by path:"; cat "$PROBE_DATA_DIR/postgres.json" 2>&1 || true
echo "data dir:"; ls -A "$PROBE_DATA_DIR" 2>&1 || true
echo "other state:"; cat "$DEPLOY_STATE_DIR/../other/secret" 2>&1 || true
echo "other state by path:"; cat "$PROBE_DATA_DIR/state/other/secret" 2>&1 || true
echo "my state:"; echo mine > "$DEPLOY_STATE_DIR/mine" && cat "$DEPLOY_STATE_DIR/mine"
echo "processes:"; ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo
echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
`;

const FILES = {
  'probe/plan.sh': PROBE,
  'probe/parent.sh': `#!/bin/sh
echo "ppid environ:"; tr '\\0' '\\n' < /proc/$PPID/environ
echo "ppid cmdline: $(tr '\\0' ' ' < /proc/$PPID/cmdline)"
echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
`,
  'probe/apply.sh': '#!/bin/sh\necho applied\n',
  'probe/net.sh': `#!/bin/sh
node -e '
const s = require("node:net").connect(Number(process.env.DEPLOY_VAR_port ?? process.env.PROBE_PORT), "127.0.0.1");
s.on("connect", () => { console.log("network: connected"); s.end(); });
s.on("error", (e) => console.log("network: " + e.code));
'
echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
`,
  'probe/paths.sh': `#!/bin/sh
echo "ro: $(cat "$PROBE_DIR/shared-ro/file" 2>&1)"
echo x > "$PROBE_DIR/shared-ro/new" 2>/dev/null && echo "ro write: yes" || echo "ro write: refused"
echo x > "$PROBE_DIR/shared-rw/new" 2>/dev/null && echo "rw write: yes" || echo "rw write: refused"
ls "$PROBE_DIR/probe" >/dev/null 2>&1 && echo "undeclared: visible" || echo "undeclared: absent"
echo '{"changes":[]}' > "$DEPLOY_PLAN_FILE"
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES, workers: 0 });
  // A worker's step environment is taken at its start: PROBE_* tell the probes where to look.
  process.env.PROBE_DATA_DIR = h.dataDir;
  process.env.PROBE_DIR = h.dir;
  process.env.PROBE_PORT = '1';
  process.env.DEPLOY_STEP_ENV = 'PROBE_*';
  await h.startWorker();
  // What the embedded PostgreSQL keeps in the data directory, and another deployment's state.
  writeFileSync(
    path.join(h.dataDir, 'postgres.json'),
    JSON.stringify({ user: 'postgres', password: PG_PASSWORD }),
    { mode: 0o600 },
  );
  mkdirSync(path.join(h.dataDir, 'state', 'other'), { recursive: true });
  writeFileSync(path.join(h.dataDir, 'state', 'other', 'secret'), OTHER_STATE_SECRET, {
    mode: 0o644,
  });
  mkdirSync(path.join(h.dir, 'shared-ro'));
  mkdirSync(path.join(h.dir, 'shared-rw'));
  // A read-write path must be writable by the user steps run as (deploy-step, as root).
  const status = sandboxStatus({ ...process.env, DEPLOY_STEP_SANDBOX: 'auto' });
  if (status.user) {
    const ids = stepUser(status.user);
    chownSync(path.join(h.dir, 'shared-rw'), ids.uid, ids.gid);
  }
  writeFileSync(path.join(h.dir, 'shared-ro', 'file'), 'declared content');
});
afterAll(async () => {
  delete process.env.DEPLOY_STEP_SANDBOX;
  delete process.env.DEPLOY_STEP_ENV;
  await h?.close();
});

/** Plans `deployment` and returns its whole run log. */
async function planLog(deployment: string, variables?: Record<string, string>): Promise<string> {
  const run = await h.core.requestRun({ deployment, variables, actor: REQUESTER });
  await h.waitFor(run.id, ['no_changes', 'awaiting_plan_approval', 'failed']);
  const lines = await h.core.readLogs(run.id, { tail: 10_000 });
  return lines.map((l) => l.line).join('\n');
}

function expectNoSecret(log: string) {
  for (const secret of [...Object.values(SECRETS), PG_PASSWORD, OTHER_STATE_SECRET])
    expect(log).not.toContain(secret);
  expect(log).not.toContain(process.env.DATABASE_URL ?? 'postgres://never');
  expect(log).not.toMatch(/postgres:\/\//);
}

describe('the step runner', () => {
  it('starts with a minimal environment: a step reading /proc/$PPID/environ finds no secret (no sandbox)', async () => {
    process.env.DEPLOY_STEP_SANDBOX = 'off';
    const log = await planLog('parent');
    // The parent is the step runner, and its environment is PATH and the locale only.
    expect(log).toMatch(/ppid cmdline: .*spawner-process\.ts/);
    expect(log).toMatch(/ppid environ:\nPATH=/);
    expect(log).not.toMatch(/SLACK_|DEPLOY_API_TOKEN|DATABASE_URL|HOME=/);
    expectNoSecret(log);
  });
});

describe.skipIf(!existsSync('/usr/bin/bwrap'))('a step in bubblewrap', () => {
  let log: string;
  beforeAll(async () => {
    process.env.DEPLOY_STEP_SANDBOX = 'required';
    expect(sandboxStatus().active).toBe(true);
    log = await planLog('probe');
  });

  it('finds no secret in any /proc/*/environ it can see, and sees only its own processes', () => {
    expect(log).toContain('environ /proc/');
    const processes = /processes:\n(.*)/.exec(log)?.[1]?.trim().split(' ') ?? [];
    // bwrap's init, the step's shell and its few commands; never the worker's.
    expect(processes.every((pid) => Number(pid) < 50)).toBe(true);
    expect(processes).not.toContain(String(process.pid));
    expectNoSecret(log);
  });

  it('cannot read the credentials file, the data directory, or another deployment\u2019s state', () => {
    expect(log).toMatch(/credentials:\ncat: .*No such file or directory/);
    expect(log).toMatch(/credentials by path:\ncat: .*No such file or directory/);
    // The data directory's path exists only as the mount points of this run's
    // workspace and this deployment's state: nothing of it is there.
    const listing = log.slice(log.indexOf('data dir:'), log.indexOf('other state:'));
    expect(listing).not.toContain('postgres');
    expect(listing.trim().split('\n').slice(1)).toEqual(['state', 'workspaces']);
    expect(log).toMatch(/other state:\ncat: .*No such file or directory/);
    expect(log).toMatch(/other state by path:\ncat: .*No such file or directory/);
    expectNoSecret(log);
  });

  it('writes its own state directory, as an unprivileged user when the server is root', () => {
    expect(log).toMatch(/my state:\nmine/);
    expect(existsSync(path.join(h.dataDir, 'state', 'probe', 'mine'))).toBe(true);
    if (process.getuid?.() === 0) {
      expect(log).toMatch(/uid=[1-9]\d* user=deploy-step/);
    }
  });

  it('keeps the network unless the deployment sets sandbox.network: false', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = String((server.address() as net.AddressInfo).port);
    try {
      expect(await planLog('online', { port })).toContain('network: connected');
      expect(await planLog('offline', { port })).toMatch(/network: E(CONNREFUSED|NETUNREACH)/);
    } finally {
      server.close();
    }
  });

  it('sees the paths the deployment declares, read-only unless rw, and nothing else of the machine', async () => {
    const paths = await planLog('declared');
    expect(paths).toContain('ro: declared content');
    expect(paths).toContain('ro write: refused');
    expect(paths).toContain('rw write: yes');
    expect(paths).toContain('undeclared: absent');
    expect(existsSync(path.join(h.dir, 'shared-rw', 'new'))).toBe(true);
    expect(existsSync(path.join(h.dir, 'shared-ro', 'new'))).toBe(false);
  });
});

describe('DEPLOY_STEP_SANDBOX without bubblewrap', () => {
  const noBwrap = { PATH: '/nonexistent-bin' };

  it('auto runs steps without it, with a warning that says how to install it', () => {
    const status = sandboxStatus({ ...noBwrap, DEPLOY_STEP_SANDBOX: 'auto' });
    expect(status.active).toBe(false);
    expect(status.warning).toBe(
      'bubblewrap (bwrap) is not installed: steps run WITHOUT a sandbox and can read what the server can; install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or set DEPLOY_STEP_SANDBOX=off to say this is intended',
    );
  });

  it('required refuses to start a step, saying why', async () => {
    const saved = { PATH: process.env.PATH, mode: process.env.DEPLOY_STEP_SANDBOX };
    process.env.PATH = noBwrap.PATH;
    process.env.DEPLOY_STEP_SANDBOX = 'required';
    try {
      await expect(
        runStep({
          label: 'plan step ./plan.sh',
          command: ['/bin/true'],
          cwd: h.dir,
          env: { PATH: '/usr/bin:/bin' },
          timeoutMs: 5_000,
          onLine: () => {},
          sandbox: {
            workspaceRoot: h.dir,
            stateDir: h.dir,
            dataDir: h.dataDir,
            config: { network: true, services: false, paths: [] },
          },
        }),
      ).rejects.toThrow(
        /^plan step \.\/plan\.sh was not started: bubblewrap \(bwrap\) is not installed; DEPLOY_STEP_SANDBOX=required: steps will not run until you install bubblewrap/,
      );
    } finally {
      process.env.PATH = saved.PATH ?? '';
      if (saved.mode === undefined) delete process.env.DEPLOY_STEP_SANDBOX;
      else process.env.DEPLOY_STEP_SANDBOX = saved.mode;
    }
  });
});
