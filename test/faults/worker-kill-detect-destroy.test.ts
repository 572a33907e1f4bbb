// Workers killed with SIGKILL during the two phases test/faults/worker-kill.test.ts
// does not cover: detect (preparing the workspace: here a git clone that hangs)
// and destroy. Detect is read-only: another worker runs it again and the run
// goes on. A destroy is never run twice: the run fails with the partly-changed
// hint, the step the dead worker left running is stopped by the reaper of a
// worker on the same machine, and the deployment's slot is free again.
//
// A step's program runs only once its process id is stored (it waits on a pipe
// until then; src/core/executors/process.ts): a worker killed at any instant
// leaves either a step the reaper can stop or one that never ran. When the id
// cannot be stored at all, the step is not started and the run says so.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '../../src/core/api/types.ts';
import { spawnWorker, type WorkerHandle } from '../support/faults-postgres.ts';
import { processesWithEnv } from '../support/faults-proc.ts';
import { reportFigures, TRIALS, waitUntil } from '../support/faults-support.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from '../support/harness.ts';

const RUNS = Math.min(TRIALS, 10);
const ROUNDS = Math.ceil(TRIALS / RUNS);
/** Git clones are heavier: fewer at a time on a small machine, in more rounds. */
const DETECT_RUNS = Math.min(TRIALS, 5);
const DETECT_ROUNDS = Math.ceil(TRIALS / DETECT_RUNS);
/** Generous: the machine may be busy with other work. */
const WAIT_MS = 180_000;

function config() {
  const lines = ['deployments:'];
  for (let i = 0; i < RUNS; i++) {
    lines.push(
      `  - name: git${i}`,
      '    approvers: [U0APPROVER]',
      '    source: { kind: git-repository, url: "{{dir}}/repo.git", ref: main }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 60s }',
      `  - name: gone${i}`,
      '    approvers: [U0APPROVER]',
      '    source: { kind: directory, path: ./app }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, destroyPlan: ./destroy-plan.sh, destroy: ./destroy.sh, timeout: 300s }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const PLAN = `#!/bin/sh
echo "plan $DEPLOY_RUN_ID start" >> "$DEPLOY_STATE_DIR/effects"
echo '{"changes":[{"address":"svc","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
`;
const FILES = {
  'app/plan.sh': PLAN,
  'app/apply.sh': '#!/bin/sh\necho applied\n',
  'app/destroy-plan.sh': `#!/bin/sh
echo "destroy-plan $DEPLOY_RUN_ID start" >> "$DEPLOY_STATE_DIR/effects"
echo '{"changes":[{"address":"svc","action":"delete"}]}' > "$DEPLOY_PLAN_FILE"
`,
  // Records its start, then takes long enough that only a kill ends it.
  'app/destroy.sh': `#!/bin/sh
echo "destroy $DEPLOY_RUN_ID start" >> "$DEPLOY_STATE_DIR/effects"
sleep 240
echo "destroy $DEPLOY_RUN_ID end" >> "$DEPLOY_STATE_DIR/effects"
`,
};

let h: Harness;
let slowBin: string;
let cloneLog: string;
beforeAll(async () => {
  h = await startHarness({ config: config(), files: FILES, workers: 0 });
  // A git repository for the git deployments.
  const work = path.join(h.dir, 'repo-work');
  mkdirSync(work, { recursive: true });
  writeFileSync(path.join(work, 'plan.sh'), PLAN);
  writeFileSync(path.join(work, 'apply.sh'), '#!/bin/sh\necho applied\n');
  chmodSync(path.join(work, 'plan.sh'), 0o755);
  chmodSync(path.join(work, 'apply.sh'), 0o755);
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: work,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-qm', 'init');
  execFileSync('git', ['clone', '-q', '--bare', work, path.join(h.dir, 'repo.git')]);
  // The doomed worker's git: a clone that never ends (detect hangs there).
  slowBin = path.join(h.dir, 'slow-bin');
  cloneLog = path.join(h.dir, 'slow-clones');
  mkdirSync(slowBin);
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(
    path.join(slowBin, 'git'),
    `#!/bin/sh\nif [ "$1" = clone ]; then echo "$$" >> "${cloneLog}"; exec sleep 300; fi\nexec ${realGit} "$@"\n`,
  );
  chmodSync(path.join(slowBin, 'git'), 0o755);
});
const workers: WorkerHandle[] = [];
afterAll(async () => {
  for (const w of workers) await w.kill('SIGKILL');
  // The hung clones the killed workers left behind.
  for (const pid of lines(cloneLog)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await h?.close();
  reportFigures('worker-kill-detect-destroy', figures);
});

const figures = {
  detectTrials: 0,
  detectRecovered: 0,
  destroyTrials: 0,
  destroyFailedWithHint: 0,
  doubleDestroys: 0,
  orphanStepsLeft: 0,
};

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}
/** A worker in a process of its own (its log kept for failure messages). */
async function worker(env: Record<string, string> = {}): Promise<WorkerHandle> {
  const w = await spawnWorker({
    url: h.db.url,
    configFile: path.join(h.dir, 'deploy.config.yaml'),
    dataDir: h.dataDir,
    env: { TEST_CONCURRENCY: String(RUNS), ...env },
  });
  workers.push(w);
  return w;
}

async function runRow(runId: string) {
  const [row] = await h.core.connection.sql<
    {
      status: string;
      worker_id: string | null;
      step_pid: number | null;
      heartbeat_at: Date | null;
      step_attempt: number;
    }[]
  >`select status, worker_id, step_pid, heartbeat_at, step_attempt from runs where id = ${runId}`;
  return JSON.stringify(row);
}

const effects = (deployment: string) => lines(path.join(h.dataDir, 'state', deployment, 'effects'));

describe(`SIGKILL of a worker during detect (${DETECT_ROUNDS} round(s) of ${DETECT_RUNS} runs) and during destroy (${ROUNDS} round(s) of ${RUNS} runs)`, () => {
  it(
    'during detect (a hung git clone): another worker prepares the workspace again and the run goes on',
    async () => {
      for (let round = 0; round < DETECT_ROUNDS; round++) {
        const clonesBefore = lines(cloneLog).length;
        const doomed = await worker({ PATH: `${slowBin}:${process.env.PATH ?? ''}` });
        const runs: RunView[] = [];
        for (let i = 0; i < DETECT_RUNS; i++)
          runs.push(await h.core.requestRun({ deployment: `git${i}`, actor: REQUESTER }));
        await waitUntil(
          () => lines(cloneLog).length - clonesBefore >= DETECT_RUNS,
          'every run to be cloning on the doomed worker',
          WAIT_MS,
        );
        for (const r of runs) expect((await h.core.getRun(r.id)).status).toBe('initializing');
        await doomed.kill('SIGKILL');
        const survivor = await worker();
        try {
          for (const r of runs) {
            figures.detectTrials += 1;
            const end = await h
              .waitFor(r.id, ['awaiting_plan_approval', 'failed', 'cancelled'], WAIT_MS)
              .catch(async (error: unknown) => {
                throw new Error(
                  `${String(error)}\nrun: ${await runRow(r.id)}\nsurvivor log:\n${survivor.stderr().slice(-3000)}`,
                );
              });
            expect(end.status, `${r.id}: ${end.error ?? ''}`).toBe('awaiting_plan_approval');
            expect(end.sourceSummary.commit).toMatch(/^[0-9a-f]{40}$/);
            // The plan ran once, on the survivor.
            expect(effects(r.deployment).filter((l) => l === `plan ${r.id} start`)).toHaveLength(1);
            figures.detectRecovered += 1;
            await h.core.cancelRun(r.id, REQUESTER);
          }
        } finally {
          await survivor.kill('SIGTERM');
        }
      }
      expect(figures.detectRecovered).toBe(DETECT_ROUNDS * DETECT_RUNS);
    },
    DETECT_ROUNDS * 4 * WAIT_MS,
  );

  it(
    'during destroy: the run fails with the partly-changed hint, the destroy is never run again, its step is stopped, the slot is free',
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const doomed = await worker();
        const runs: RunView[] = [];
        for (let i = 0; i < RUNS; i++) {
          runs.push(
            await h.core.requestRun({ deployment: `gone${i}`, kind: 'destroy', actor: REQUESTER }),
          );
        }
        for (const r of runs) {
          const planned = await h.waitFor(r.id, 'awaiting_plan_approval', WAIT_MS);
          await h.core.approvePlan(r.id, APPROVER, { planId: planned.plan?.id });
          await h.core.confirmApply(r.id, APPROVER, { planId: planned.plan?.id });
        }
        await waitUntil(
          () => runs.every((r) => effects(r.deployment).includes(`destroy ${r.id} start`)),
          'every destroy step to start',
          WAIT_MS,
        );
        // The worker has stored each step's process id (the test below kills it before).
        await waitUntil(
          async () => {
            const [row] = await h.core.connection.sql<{ n: number }[]>`
              select count(*)::int as n from runs
              where id in ${h.core.connection.sql(runs.map((r) => r.id))} and step_pid is null`;
            return row!.n === 0;
          },
          'the step process ids to be stored',
          WAIT_MS,
        );
        await doomed.kill('SIGKILL');
        const survivor = await worker();
        try {
          for (const r of runs) {
            figures.destroyTrials += 1;
            const end = await h.waitFor(r.id, ['failed', 'destroyed', 'rollback_failed'], WAIT_MS);
            expect(end.status).toBe('failed');
            expect(end.failedPhase).toBe('execute');
            expect(end.recoveryHint?.text).toMatch(/partly changed/);
            figures.destroyFailedWithHint += 1;
            const starts = effects(r.deployment).filter((l) => l === `destroy ${r.id} start`);
            figures.doubleDestroys += starts.length > 1 ? 1 : 0;
            expect(starts).toHaveLength(1);
            // What the dead worker's step left running is stopped, never finished.
            const left = await waitUntil(
              () => processesWithEnv('DEPLOY_RUN_ID', r.id).length === 0,
              `the processes of ${r.id}'s destroy step to be stopped`,
              20_000,
            ).catch(() => false);
            if (!left) figures.orphanStepsLeft += 1;
            expect(
              left,
              `${r.id}: its destroy step still runs: ${JSON.stringify(processesWithEnv('DEPLOY_RUN_ID', r.id).map((p) => [p.pid, p.argv]))}; run: ${await runRow(r.id)}; survivor log:\n${survivor.stderr().slice(-3000)}`,
            ).toBe(true);
            expect(effects(r.deployment)).not.toContain(`destroy ${r.id} end`);
          }
          // Every slot is free: a new run of each deployment plans at once.
          for (const r of runs) {
            const next = await h.core.requestRun({ deployment: r.deployment, actor: REQUESTER });
            expect(next.status).toBe('pending');
            await h.waitFor(next.id, 'awaiting_plan_approval', WAIT_MS);
            await h.core.cancelRun(next.id, REQUESTER);
          }
        } finally {
          await survivor.kill('SIGTERM');
        }
      }
    },
    ROUNDS * 4 * WAIT_MS,
  );

  it(
    'a destroy step whose process id cannot be stored never starts: the run fails saying nothing ran',
    async () => {
      const sql = h.core.connection.sql;
      const w = await worker();
      const run = await h.core.requestRun({
        deployment: 'gone0',
        kind: 'destroy',
        actor: REQUESTER,
      });
      try {
        const planned = await h.waitFor(run.id, 'awaiting_plan_approval', WAIT_MS);
        await h.core.approvePlan(run.id, APPROVER, { planId: planned.plan?.id });
        // From now on, storing a step's process id fails (the database refuses it).
        await sql.unsafe(`
        create or replace function fault_step_pid_fails() returns trigger language plpgsql as $$
        begin
          if new.step_pid is not null and new.step_pid is distinct from old.step_pid then
            raise exception 'fault injected: could not store the step pid';
          end if;
          return new;
        end $$;
        create trigger fault_step_pid_fails before update on runs
          for each row execute function fault_step_pid_fails();`);
        await h.core.confirmApply(run.id, APPROVER, { planId: planned.plan?.id });
        const end = await h.waitFor(run.id, ['failed', 'destroyed'], WAIT_MS);
        expect(end.status).toBe('failed');
        expect(end.error).toMatch(/was not started: deploy-bot could not record its process first/);
        expect(end.recoveryHint?.text).toMatch(/never ran, so it changed nothing/);
        // The program itself never ran, and nothing of it is left running.
        expect(effects('gone0')).not.toContain(`destroy ${run.id} start`);
        expect(processesWithEnv('DEPLOY_RUN_ID', run.id)).toEqual([]);
        figures.orphanStepsLeft += processesWithEnv('DEPLOY_RUN_ID', run.id).length;
      } finally {
        await sql.unsafe(`
        drop trigger if exists fault_step_pid_fails on runs;
        drop function if exists fault_step_pid_fails();`);
        await w.kill('SIGTERM');
      }
    },
    WAIT_MS,
  );
});
