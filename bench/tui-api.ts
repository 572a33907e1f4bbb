import path from 'node:path';
import { DeployCore } from '../src/core/api/core.ts';
import { issueToken } from '../src/core/auth/tokens.ts';
import { STATUS_TABLE } from '../src/core/lifecycle/statuses.ts';
import { type Pty, startPty } from '../test/support/tui-pty.ts';
import {
  freePort,
  freshDatabase,
  type Proc,
  ROOT,
  sleep,
  startDeployBot,
  waitForHttp,
  workspace,
} from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const RUNS = Number(process.env.BENCH_TUI_API_RUNS ?? 30);

const CONFIG = `deployments:
  - name: waits
    approvers: [U0BENCH]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./plan.sh, timeout: 10m }
`;
// One change: each run waits for plan approval (a listed run that the benchmark then cancels).
const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
};

/**
 * When the pseudo-terminal's output first makes `check` true of the screen
 * (performance.now() at the chunk's arrival): every chunk is checked as it comes.
 */
function frameShowing(p: Pty, check: (screen: string) => boolean, what: string): Promise<number> {
  if (check(p.screen.text())) return Promise.resolve(performance.now());
  const screen = p.screen;
  const write = screen.write;
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      screen.write = write;
      reject(new Error(`the dashboard did not show ${what} within 20 s:\n${screen.text()}`));
    }, 20_000);
    screen.write = (data: string) => {
      write.call(screen, data);
      if (!check(screen.text())) return;
      const at = performance.now();
      screen.write = write;
      clearTimeout(timer);
      resolve(at);
    };
  });
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
    await waitForHttp(`http://127.0.0.1:${port}/healthz`);
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
    const appeared: Record<string, number[]> = { local: [], remote: [] };
    const changed: Record<string, number[]> = { local: [], remote: [] };
    const waiting = STATUS_TABLE.awaiting_plan_approval.symbol;
    const rowOf = (screen: string, id: string) =>
      screen.split('\n').find((line) => line.includes(id)) ?? null;
    for (let i = 0; i < RUNS; i++) {
      // A run requested elsewhere → the frame that first shows its row.
      let t0 = performance.now();
      const run = await core.requestRun({
        deployment: 'waits',
        actor: { id: 'U0BENCH', via: 'api' },
      });
      // Both dashboards watch at once: the same change, the same machine load.
      await Promise.all(
        Object.entries(screens).map(async ([name, p]) => {
          const at = await frameShowing(p, (s) => rowOf(s, run.id) !== null, run.id);
          appeared[name]!.push(at - t0);
        }),
      );
      // Settled (planned, waiting for approval on both screens), then a change of a
      // listed run → the frame that no longer shows it waiting.
      await Promise.all(
        Object.values(screens).map((p) =>
          frameShowing(p, (s) => rowOf(s, run.id)?.includes(waiting) === true, `${run.id} waiting`),
        ),
      );
      await sleep(50);
      t0 = performance.now();
      await core.cancelRun(run.id, { id: 'U0BENCH', via: 'api' });
      await Promise.all(
        Object.entries(screens).map(async ([name, p]) => {
          const at = await frameShowing(
            p,
            (s) => rowOf(s, run.id)?.includes(waiting) !== true,
            `${run.id} cancelled`,
          );
          changed[name]!.push(at - t0);
        }),
      );
      await sleep(100);
    }
    const results = [
      ['a run requested elsewhere → the frame showing its row', appeared],
      ['a listed run cancelled elsewhere → the frame showing the change', changed],
    ] as const;
    for (const [what, seen] of results) {
      const local = summarize(seen.local!);
      const remote = summarize(seen.remote!);
      row(
        section,
        `${what}: local, p50 / p95 (n=${local.n})`,
        `${ms(local.p50)} / ${ms(local.p95)}`,
      );
      row(
        section,
        '…the same over the API (remote mode), p50 / p95',
        `${ms(remote.p50)} / ${ms(remote.p95)}`,
      );
      row(section, '…p50 ratio (remote / local)', `${(remote.p50 / local.p50).toFixed(2)}×`);
      row(
        section,
        '…p95 ratio (remote / local)',
        `${(remote.p95 / local.p95).toFixed(2)}×`,
        '≤ 1.2×',
        remote.p95 / local.p95 <= 1.2,
      );
    }
    section.notes.push(
      'A frame here is what deploy-tui draws for a change of the runs it lists: from just before the core call in the benchmark process (requestRun, cancelRun) to the arrival of the terminal output that makes the row appear or change, timed on each chunk the pseudo-terminal relays (test/support/tui-pty.ts; the emulated screen is checked after every chunk, not polled).',
      'Both dashboards are real deploy-tui processes in 120x40 pseudo-terminals watching the same runs at the same time. Local: NOTIFY → the runs store reads PostgreSQL. Remote: serve turns the NOTIFY into a Server-Sent Event, then the store reads the run over /api/v1 (GET /runs/ID).',
      'Frames that need no data (a key moving the selection) are drawn the same way in both modes and are measured by `npm run bench -- tui`.',
    );
  } finally {
    for (const p of ptys) p.kill();
    await Promise.all(ptys.map((p) => p.exited));
    await serve?.stop();
    await core.close();
    await db.drop();
  }
}
