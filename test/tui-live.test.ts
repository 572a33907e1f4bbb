// deploy-tui's data layer and app on a real database, with a core of its own
// (its own connections, as in its own process) while the harness core and its
// real workers create and move runs, as the bot and the CLI would.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployCore } from '../src/core/api/core.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { isRefusal } from '../src/core/errors.ts';
import { LogWindow } from '../src/tui/data/log-window.ts';
import { RunsStore } from '../src/tui/data/runs-store.ts';
import { type Harness, REQUESTER, startHarness } from './support/harness.ts';
import {
  type AppHandle,
  assertFits,
  KEYS,
  press,
  renderApp,
  waitForFrame,
  waitForText,
} from './support/tui-ink.ts';

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
echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"
`,
  'src/apply.sh': `
i=0
while [ $i -lt 30 ]; do echo "apply step $i"; i=$((i+1)); done
echo "applied $DEPLOY_VAR_image_tag"
`,
};

let h: Harness;
let tui: DeployCore;

beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  const configFile = path.join(h.dir, 'deploy.config.yaml');
  tui = await DeployCore.open({
    databaseUrl: h.db.url,
    dataDir: h.dataDir,
    config: parseConfig(readFileSync(configFile, 'utf8'), configFile),
    migrate: false,
    poolSize: 4,
    applicationName: 'deploy-tui',
  });
});

afterAll(async () => {
  await tui?.close();
  await h?.close();
});

const until = async (check: () => boolean, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('live data on a real database', () => {
  it('shows a run requested and moved by another core within a second', async () => {
    const store = new RunsStore(tui, { pingMs: 1000 });
    try {
      await store.start();
      const started = Date.now();
      const run = await h.core.requestRun({
        deployment: 'web',
        variables: { image_tag: '1.0.0' },
        actor: REQUESTER,
      });
      await until(
        () => store.getSnapshot().runs.some((r) => r.id === run.id),
        'the new run in the list',
      );
      const seenAfter = Date.now() - started;
      expect(seenAfter).toBeLessThan(1000);
      await h.waitFor(run.id, 'awaiting_plan_approval');
      await until(
        () =>
          store.getSnapshot().runs.find((r) => r.id === run.id)?.status ===
          'awaiting_plan_approval',
        'the status change',
        5000,
      );
      await h.core.cancelRun(run.id, REQUESTER, { reason: 'done with it' });
      const cancelledAt = Date.now();
      await until(
        () => store.getSnapshot().runs.find((r) => r.id === run.id)?.status === 'cancelled',
        'the cancel',
        5000,
      );
      expect(Date.now() - cancelledAt).toBeLessThan(1000);
    } finally {
      await store.close();
    }
  });

  it('follows a log written by another process within a fraction of a second', async () => {
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '1.0.1' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    const w = new LogWindow(tui, run.id, { height: 10 });
    try {
      await w.open();
      expect(
        w
          .getSnapshot()
          .lines.map((l) => l.line)
          .join('\n'),
      ).toContain('planning image 1.0.1');
      const before = w.getSnapshot().lines.length;
      await h.core.approvePlan(run.id, { id: 'U0APPROVER', via: 'cli' });
      await h.core.confirmApply(run.id, { id: 'U0APPROVER', via: 'cli' });
      const started = Date.now();
      await until(() => w.getSnapshot().lines.length > before, 'the first apply line', 10_000);
      await h.waitFor(run.id, 'completed');
      await until(
        () => w.getSnapshot().lines.some((l) => l.line === 'applied 1.0.1'),
        'the last apply line',
        5000,
      );
      const s = w.getSnapshot();
      expect(s.following).toBe(true);
      expect(s.lines.slice(s.top).some((l) => l.line === 'applied 1.0.1')).toBe(true);
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await w.close();
    }
  });

  it('recovers by itself when its database connections are cut', async () => {
    const store = new RunsStore(tui, { pingMs: 200 });
    const admin = postgres(h.db.url, { max: 1, onnotice: () => {} });
    try {
      await store.start();
      await admin`select pg_terminate_backend(pid) from pg_stat_activity
                  where application_name = 'deploy-tui' and pid <> pg_backend_pid()`;
      const run = await h.core.requestRun({
        deployment: 'web',
        variables: { image_tag: '1.0.2' },
        actor: REQUESTER,
      });
      await until(
        () => store.getSnapshot().runs.some((r) => r.id === run.id),
        'the run after the reconnect',
        20_000,
      );
      await until(() => store.getSnapshot().connected, 'connected again', 10_000);
      await h.waitFor(run.id, 'awaiting_plan_approval');
      await h.core.cancelRun(run.id, REQUESTER);
    } finally {
      await admin.end({ timeout: 5 });
      await store.close();
    }
  });
});

describe('the app on a real database', () => {
  let a: AppHandle | null = null;
  afterAll(async () => {
    await a?.close();
  });

  it('approves and applies from the dashboard with the same policy as Slack, and shows the log', async () => {
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '2.0.0' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    a = await renderApp(tui, {
      actor: { id: 'U0APPROVER', via: 'tui' },
      columns: 120,
      rows: 30,
      store: { pingMs: 1000 },
    });
    const r = a.r;
    await press(r, '2');
    await waitForFrame(r, (f) => f.includes(`› ${run.id}`), 'the run selected');
    await press(r, KEYS.enter);
    await waitForText(r, 'a approve plan');
    await waitForText(r, 'planning image 2.0.0');
    await press(r, 'a');
    await waitForText(r, `Approve the plan of ${run.id}`);
    await press(r, 'y');
    await waitForText(r, `plan approved: ${run.id} is now awaiting apply approval`);
    await press(r, 'x');
    await waitForText(r, `Apply ${run.id} to web (production) now`);
    await press(r, 'y');
    await h.waitFor(run.id, 'completed');
    const frame = await waitForText(r, 'applied 2.0.0');
    assertFits(frame, 120, 30);
    await waitForText(r, '✓ Completed');
    const done = await h.core.getRun(run.id);
    expect(done.approvals.map((x) => `${x.stage}:${x.by}:${x.via}`)).toEqual([
      'plan:U0APPROVER:tui',
      'apply:U0APPROVER:tui',
    ]);
    const audit = await h.core.transitions(run.id);
    expect(audit.some((t) => t.via === 'tui' && t.actor === 'U0APPROVER')).toBe(true);
    await a.close();
    a = null;
  });

  it("shows the core's exact refusal to someone who is not an approver", async () => {
    const run = await h.core.requestRun({
      deployment: 'web',
      variables: { image_tag: '3.0.0' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    let expected = '';
    try {
      await h.core.approvePlan(run.id, { id: 'U0STRANGER', via: 'tui' });
    } catch (error) {
      if (!isRefusal(error)) throw error;
      expected = error.message;
    }
    expect(expected).not.toBe('');
    a = await renderApp(tui, {
      actor: { id: 'U0STRANGER', via: 'tui' },
      columns: 200,
      rows: 30,
      store: { pingMs: 1000 },
    });
    await waitForFrame(a.r, (f) => f.includes(`› ${run.id}`), 'the run selected');
    await press(a.r, 'a', 'y');
    await waitForText(a.r, `refused: ${expected}`);
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_plan_approval');
    await h.core.cancelRun(run.id, REQUESTER);
    await a.close();
    a = null;
  });
});
