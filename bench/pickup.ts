// Item 2: apply confirmed → the apply step's process started, worker in another process.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeployCore } from '../src/core/api/core.ts';
import { freshDatabase, type Proc, sleep, startDeployBot, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const CONFIG = `deployments:
  - name: pick
    approvers: [U0BENCH]
    allowSelfApproval: true
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  // bash's $EPOCHREALTIME is read without starting another process.
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh':
    '#!/bin/bash\necho "$EPOCHREALTIME" > "$DEPLOY_STATE_DIR/started-$DEPLOY_RUN_ID"\n',
};

type Mode = 'off' | 'required';

export async function benchPickup(
  report: Report,
  iterations = Number(process.env.BENCH_PICKUP_N ?? 100),
) {
  const section = report.section(
    'Apply confirmed → apply step process started (worker in another process), with and without the step sandbox',
    'npm run bench -- pickup',
  );
  const db = await freshDatabase('pickup');
  const ws = workspace(CONFIG, FILES);
  let worker: Proc | null = null;
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
  });
  const latencies: Record<Mode, number[]> = { off: [], required: [] };
  try {
    const actor = { id: 'U0BENCH', via: 'api' as const };
    const one = async () => {
      const run = await core.requestRun({ deployment: 'pick', actor });
      while ((await core.getRun(run.id)).status !== 'awaiting_plan_approval') await sleep(2);
      await core.approvePlan(run.id, actor);
      const t0 = performance.timeOrigin + performance.now();
      await core.confirmApply(run.id, actor);
      const file = path.join(ws.dataDir, 'state', 'pick', `started-${run.id}`);
      while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') await sleep(1);
      const started = Number(readFileSync(file, 'utf8').trim()) * 1000;
      while ((await core.getRun(run.id)).status !== 'completed') await sleep(2);
      return started - t0;
    };
    // Blocks of each mode in turn, each on a fresh worker process, so that the
    // machine's other load falls on both alike.
    const blocks: Mode[] = ['off', 'required', 'off', 'required'];
    for (const mode of blocks) {
      worker = await startDeployBot('worker', ws, db.url, { DEPLOY_STEP_SANDBOX: mode });
      for (let i = 0; i < 3; i++) await one(); // warm up caches and connections
      for (let i = 0; i < iterations / 2; i++) latencies[mode].push(await one());
      await worker.stop();
      worker = null;
    }
    const off = summarize(latencies.off);
    const boxed = summarize(latencies.required);
    row(section, `p50 over ${off.n} applies, no sandbox`, ms(off.p50), '≤ 30 ms', off.p50 <= 30);
    row(section, 'p99, no sandbox', ms(off.p99), '≤ 150 ms', off.p99 <= 150);
    row(section, `p50 over ${boxed.n} applies, in bubblewrap`, ms(boxed.p50));
    row(section, 'p99, in bubblewrap', ms(boxed.p99), '≤ 150 ms', boxed.p99 <= 150);
    row(
      section,
      'p50 cost of the sandbox',
      `${boxed.p50 >= off.p50 ? '+' : '−'}${ms(Math.abs(boxed.p50 - off.p50))} (${(boxed.p50 / off.p50).toFixed(2)}×)`,
      '≤ +15 ms',
      boxed.p50 - off.p50 <= 15,
    );
    row(
      section,
      'p95 / max, no sandbox vs in bubblewrap',
      `${ms(off.p95)} / ${ms(off.max)} vs ${ms(boxed.p95)} / ${ms(boxed.max)}`,
    );
    section.notes.push(
      'Measured from just before the core API call confirmApply() in the benchmark process to the first instruction of the apply step (bash `$EPOCHREALTIME`) in a `deploy-bot worker` process: the transaction, the NOTIFY wake-up of pg-boss, the claim, a fresh workspace copy, restoring the plan artifacts and the process spawn. "In bubblewrap" is DEPLOY_STEP_SANDBOX=required (as root: handing the workspace to the step user, bwrap, setpriv); "no sandbox" is DEPLOY_STEP_SANDBOX=off. The modes alternate in blocks (off, bubblewrap, off, bubblewrap), each on a fresh worker process. In bubblewrap the worker sets up each deployment’s next sandbox when its previous step ends (README, "Set up ahead"), so bwrap’s set-up is not on the measured path; what is left is handing the workspace to the step user and sending the gate the step’s command and environment. The no-sandbox mode spawns the step at the step, as before.',
    );
  } finally {
    await worker?.stop();
    await core.close();
    await db.drop();
  }
}
