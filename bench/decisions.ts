// Issue 18: what counting approvals against requirements costs a decision, in
// one core over one database, alternating so both see the same load:
// (1) the one-approval default: the approval that moves the run; (2) a policy of
// two entries (2 of 10 people, 1 of a user group): its first approval (stored
// and shown, the run stays) and its last (moves the run); (3) one run needing
// 100 of 100 people: approvals 1..99, each matched against everyone before it.

import { DeployCore } from '../src/core/api/core.ts';
import type { RunView } from '../src/core/api/types.ts';
import type { RunStatus } from '../src/core/lifecycle/statuses.ts';
import { freshDatabase, sleep, workspace } from './lib/env.ts';
import { type Report, row } from './lib/report.ts';
import { ms, summarize } from './lib/stats.ts';

const RUNS = Number(process.env.BENCH_DECISION_RUNS ?? 40);
const TEN = Array.from({ length: 10 }, (_, i) => `U0TEN${i}`);
const HUNDRED = Array.from({ length: 100 }, (_, i) => `U0H${String(i).padStart(3, '0')}`);
const STEPS = `
    notify: none
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 1m }`;
const CONFIG = `deployments:
  - name: single
    approvers: [U0TEN0]${STEPS}
  - name: quorum
    approvers: [${TEN.join(', ')}]
    approvals:
      plan: [ { count: 2, from: [${TEN.join(', ')}] }, { count: 1, from: [S0SEC] } ]${STEPS}
  - name: hundred
    approvers: [${HUNDRED.join(', ')}]
    approvals:
      plan: { count: 100 }${STEPS}
`;
const FILES = {
  'app/plan.sh': `#!/bin/sh\necho '{"changes":[{"address":"a","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': '#!/bin/sh\necho applied\n',
};
const SECURITY = new Set(['U0SEC1']);

async function waitStatus(core: DeployCore, runId: string, status: RunStatus): Promise<RunView> {
  for (;;) {
    const run = await core.getRun(runId);
    if (run.status === status) return run;
    if (run.finishedAt !== null) throw new Error(`${runId} ended ${run.status}`);
    await sleep(20);
  }
}

async function timed(act: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await act();
  return performance.now() - start;
}

export async function benchDecisions(report: Report): Promise<void> {
  const section = report.section(
    'Approval requirements: the cost of a decision',
    'npm run bench -- decisions',
  );
  const db = await freshDatabase('decisions');
  const ws = workspace(CONFIG, FILES);
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir: ws.dataDir,
    config: ws.configFile,
    migrate: false,
    groups: { isMember: async (user, group) => group === 'S0SEC' && SECURITY.has(user) },
  });
  try {
    await core.startWorker({ concurrency: 2 });
    const actor = (id: string) => ({ id, via: 'api' as const });
    const planned = async (deployment: string) => {
      const run = await core.requestRun({ deployment, actor: actor('U0REQUESTER') });
      return waitStatus(core, run.id, 'awaiting_plan_approval');
    };
    const single: number[] = [];
    const first: number[] = [];
    const last: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [a, b] = await Promise.all([planned('single'), planned('quorum')]);
      single.push(await timed(() => core.approvePlan(a.id, actor('U0TEN0'))));
      first.push(await timed(() => core.approvePlan(b.id, actor('U0TEN1'))));
      await core.approvePlan(b.id, actor('U0SEC1'));
      last.push(await timed(() => core.approvePlan(b.id, actor('U0TEN2'))));
      await Promise.all([
        core.cancelRun(a.id, actor('U0TEN0')),
        core.cancelRun(b.id, actor('U0TEN0')),
      ]);
    }
    const big = await planned('hundred');
    const growing: number[] = [];
    for (const id of HUNDRED.slice(0, 99))
      growing.push(await timed(() => core.approvePlan(big.id, actor(id))));
    await core.cancelRun(big.id, actor(HUNDRED[0]!));

    const s = summarize(single);
    const f = summarize(first);
    const l = summarize(last);
    const g = summarize(growing);
    const tail = summarize(growing.slice(-20));
    row(
      section,
      `one-approval default, the approval that moves the run, p50 / p99 (${s.n})`,
      `${ms(s.p50)} / ${ms(s.p99)}`,
    );
    row(
      section,
      `2 of 10 and 1 of a group: first approval (stays), p50 / p99 (${f.n})`,
      `${ms(f.p50)} / ${ms(f.p99)}`,
    );
    row(
      section,
      'the same: last approval (moves the run), p50 / p99',
      `${ms(l.p50)} / ${ms(l.p99)}`,
    );
    row(section, 'p50 ratio (last of the policy / default)', `${(l.p50 / s.p50).toFixed(2)}×`);
    row(
      section,
      `100 of 100 people: approvals 1–99, p50 / p99 (${g.n})`,
      `${ms(g.p50)} / ${ms(g.p99)}`,
    );
    row(section, 'the same: approvals 80–99 (most approvals to match), p50', ms(tail.p50));
    section.notes.push(
      'Each decision is a core call in this process: the run row locked, the approvals so far read, group memberships resolved (an in-memory resolver here), the requirements matched (src/core/policy/evaluate.ts), the approval stored, and the run moved or its version bumped, in one transaction.',
      `The default and the two-entry policy alternate run by run (${RUNS} runs each), so both see the same machine load.`,
    );
  } finally {
    await core.close();
    await db.drop();
  }
}
