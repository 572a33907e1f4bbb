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

export async function benchPickup(
  report: Report,
  iterations = Number(process.env.BENCH_PICKUP_N ?? 100),
) {
  const section = report.section(
    'Apply confirmed → apply step process started (worker in another process)',
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
  try {
    worker = await startDeployBot('worker', ws, db.url);
    const actor = { id: 'U0BENCH', via: 'api' as const };
    const latencies: number[] = [];
    for (let i = 0; i < iterations + 5; i++) {
      const run = await core.requestRun({ deployment: 'pick', actor });
      while ((await core.getRun(run.id)).status !== 'awaiting_plan_approval') await sleep(2);
      await core.approvePlan(run.id, actor);
      const t0 = performance.timeOrigin + performance.now();
      await core.confirmApply(run.id, actor);
      const file = path.join(ws.dataDir, 'state', 'pick', `started-${run.id}`);
      while (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') await sleep(1);
      const started = Number(readFileSync(file, 'utf8').trim()) * 1000;
      if (i >= 5) latencies.push(started - t0); // the first few warm up caches and connections
      while ((await core.getRun(run.id)).status !== 'completed') await sleep(2);
    }
    const s = summarize(latencies);
    row(section, `p50 over ${s.n} applies`, ms(s.p50), '≤ 30 ms', s.p50 <= 30);
    row(section, 'p99', ms(s.p99), '≤ 150 ms', s.p99 <= 150);
    row(section, 'p95 / max', `${ms(s.p95)} / ${ms(s.max)}`);
    section.notes.push(
      'Measured from just before the core API call confirmApply() in the benchmark process to the first instruction of the apply step (bash `$EPOCHREALTIME`) in a `deploy-bot worker` process: the transaction, the NOTIFY wake-up of pg-boss, the claim, a fresh workspace copy, restoring the plan artifacts and the process spawn.',
    );
  } finally {
    await worker?.stop();
    await core.close();
    await db.drop();
  }
}
