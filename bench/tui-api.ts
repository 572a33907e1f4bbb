// deploy-tui over the API (issue 13): the real dashboard in a pseudo-terminal,
// local (database access) and remote (over /api/v1 of a real serve), in the
// same run: from a run being requested elsewhere to its row on the screen.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DeployCore } from '../src/core/api/core.ts';
import { issueToken } from '../src/core/auth/tokens.ts';
import { type Pty, startPty } from '../test/support/tui-pty.ts';
import { freshDatabase, type Proc, ROOT, sleep, startDeployBot, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const RUNS = Number(process.env.BENCH_TUI_API_RUNS ?? 30);

const CONFIG = `deployments:
  - name: waits
    approvers: [U0BENCH]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./plan.sh, timeout: 10m }
`;
const FILES = { 'app/plan.sh': `#!/bin/sh\necho '{"changes":[]}' > "$DEPLOY_PLAN_FILE"\n` };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

export async function benchTuiApi(report: Report) {
  const section = report.section(
    'deploy-tui over the API against local',
    'npm run bench -- tui-api',
  );
  const db = await freshDatabase('tuiapi');
  const ws = workspace(CONFIG, FILES);
  let serve: Proc | null = null;
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  const ptys: Pty[] = [];
  try {
    const port = await freePort();
    serve = await startDeployBot('serve', ws, db.url, { PORT: String(port), HOST: '127.0.0.1' });
    const { secret } = await issueToken(core.db, {
      userId: 'U0BENCH',
      name: 'bench',
      issuedBy: 'bench',
    });
    const base = {
      PATH: process.env.PATH ?? '',
      HOME: ws.dir,
      TERM: 'xterm-256color',
      NO_COLOR: '1',
    };
    const modes = {
      local: {
        ...base,
        DATABASE_URL: db.url,
        DEPLOY_BOT_DATA_DIR: ws.dataDir,
        DEPLOY_TUI_USER: 'U0BENCH',
      },
      remote: { ...base, DEPLOY_SERVER: `http://127.0.0.1:${port}`, DEPLOY_TOKEN: secret },
    };
    const screens: Record<string, Pty> = {};
    for (const [name, env] of Object.entries(modes)) {
      const p = startPty({
        command: process.execPath,
        args: [path.join(ROOT, 'bin', 'deploy-tui.js')],
        env,
        cwd: ws.dir,
        columns: 120,
        rows: 40,
      });
      ptys.push(p);
      await p.waitForText('as U0BENCH', 60_000);
      screens[name] = p;
    }
    const seen: Record<string, number[]> = { local: [], remote: [] };
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const run = await core.requestRun({
        deployment: 'waits',
        actor: { id: 'U0BENCH', via: 'api' },
      });
      // Both dashboards watch at once: the same change, the same machine load.
      await Promise.all(
        Object.entries(screens).map(async ([name, p]) => {
          await p.waitForText(run.id, 20_000);
          seen[name]!.push(performance.now() - t0);
        }),
      );
      await core.cancelRun(run.id, { id: 'U0BENCH', via: 'api' }).catch(() => {});
      await sleep(100);
    }
    const local = summarize(seen.local!);
    const remote = summarize(seen.remote!);
    row(
      section,
      `a run requested elsewhere → its row on screen, local, p50 / p95 (n=${local.n})`,
      `${ms(local.p50)} / ${ms(local.p95)}`,
    );
    row(
      section,
      'the same over the API (remote mode), p50 / p95',
      `${ms(remote.p50)} / ${ms(remote.p95)}`,
    );
    row(
      section,
      'p95 ratio (remote / local)',
      `${(remote.p95 / local.p95).toFixed(2)}×`,
      '≤ 1.2×',
      remote.p95 / local.p95 <= 1.2,
    );
    section.notes.push(
      'Both dashboards are real deploy-tui processes in pseudo-terminals, watching the same runs at the same time; the screen is checked every 25 ms (test/support/tui-pty.ts), so values are rounded up to that.',
      'Local: NOTIFY → the runs store reads PostgreSQL. Remote: the change arrives as a Server-Sent Event from serve, then the store reads the run over /api/v1.',
    );
  } finally {
    for (const p of ptys) p.kill();
    await Promise.all(ptys.map((p) => p.exited));
    await serve?.stop();
    await core.close();
    await db.drop();
  }
}
