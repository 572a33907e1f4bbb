import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: svc
    environment: staging
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./svc }
    executor: { kind: script, plan: ./plan.sh, apply: ./plan.sh }
`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: { 'svc/plan.sh': 'sleep 30\n' } });
});
afterAll(async () => {
  await h?.close();
});

describe('list --requester', () => {
  it('lists the runs one user asked for, newest first, in the core and the CLI', async () => {
    const mine = await h.core.requestRun({ deployment: 'svc', actor: REQUESTER });
    const theirs = await h.core.requestRun({
      deployment: 'svc',
      actor: { id: 'U0SOMEONE', via: 'cli' },
    });
    const listed = await h.core.listRuns({ requestedBy: REQUESTER.id });
    expect(listed.map((r) => r.id)).toEqual([mine.id]);
    const cli = spawnSync(
      process.execPath,
      [path.resolve('bin/deploy-bot.js'), 'list', '--requester', 'U0SOMEONE', '--json'],
      { env: { ...process.env, DATABASE_URL: h.db.url }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(cli.stderr).toBe('');
    expect((JSON.parse(cli.stdout) as { id: string }[]).map((r) => r.id)).toEqual([theirs.id]);
    for (const id of [mine.id, theirs.id]) await h.core.cancelRun(id, REQUESTER).catch(() => {});
  });
});
