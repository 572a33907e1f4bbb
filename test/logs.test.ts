import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../src/core/api/types.ts';
import {
  APPROVER,
  type Harness,
  REQUESTER,
  spawnWorkerProcess,
  startHarness,
} from './support/harness.ts';

const CONFIG = `
deployments:
  - name: chatty
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    variables:
      lines: { type: number, default: 10 }
      token: { type: string, sensitive: true, default: "s3cret-token-value" }
      msg: { type: string, default: "" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 60s }
`;

const FILES = {
  'app/plan.sh': `
i=0
while [ $i -lt 5 ]; do echo "plan line $i"; sleep 0.1; i=$((i+1)); done
echo "the token is $DEPLOY_VAR_token" >&2
echo "msg is [$DEPLOY_VAR_msg]"
echo '{"changes":[{"address":"a","action":"create"}]}' > "$DEPLOY_PLAN_FILE"
`,
  'app/apply.sh': `
node -e 'const n=Number(process.env.DEPLOY_VAR_lines); let s=""; for (let i=0;i<n;i++) s+="apply line "+i+"\\n"; process.stdout.write(s)'
printf 'no newline at the end'
`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES, workers: 0 });
});
afterAll(async () => {
  await h?.close();
});

describe('run logs', () => {
  it('a follower in another process gets every line, in order, once, as it is written', async () => {
    const worker = await spawnWorkerProcess(h);
    try {
      const run = await h.core.requestRun({ deployment: 'chatty', actor: REQUESTER });
      const seen: LogLine[] = [];
      const arrivals: number[] = [];
      const stop = await h.core.followLogs(run.id, (lines) => {
        seen.push(...lines);
        for (const _ of lines) arrivals.push(Date.now());
      });
      await h.waitFor(run.id, 'awaiting_plan_approval');
      await new Promise((r) => setTimeout(r, 300));
      await stop();
      const planLines = seen.filter((l) => l.line.startsWith('plan line')).map((l) => l.line);
      expect(planLines).toEqual([
        'plan line 0',
        'plan line 1',
        'plan line 2',
        'plan line 3',
        'plan line 4',
      ]);
      const ids = seen.map((l) => l.id);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      // Lines arrived while the step ran (0.1 s apart), not all at the end.
      const first = arrivals[seen.findIndex((l) => l.line === 'plan line 0')]!;
      const last = arrivals[seen.findIndex((l) => l.line === 'plan line 4')]!;
      expect(last - first).toBeGreaterThan(200);
      await h.core.cancelRun(run.id, REQUESTER);
    } finally {
      await worker.kill('SIGTERM');
    }
  });

  it('redacts sensitive values and keeps every line of a large output', async () => {
    await h.startWorker();
    const run = await h.core.requestRun({
      deployment: 'chatty',
      variables: { lines: '20000', msg: '$(touch /tmp/deploy-bot-pwned) `id` ; rm -rf /' },
      actor: REQUESTER,
    });
    await h.waitFor(run.id, 'awaiting_plan_approval');
    await h.core.approvePlan(run.id, APPROVER);
    await h.core.confirmApply(run.id, APPROVER);
    await h.waitFor(run.id, 'completed', 60_000);
    const count = await h.core.countLogLines(run.id);
    const all = await h.core.readLogs(run.id, { limit: 10_000 });
    const text = (await h.core.readLogs(run.id, { tail: 5 })).map((l) => l.line);
    expect(text).toContain('no newline at the end');
    expect(count).toBeGreaterThan(20_000);
    const applyLines: string[] = [];
    let after = 0;
    for (;;) {
      const page = await h.core.readLogs(run.id, { afterId: after, limit: 10_000 });
      if (page.length === 0) break;
      after = page.at(-1)!.id;
      applyLines.push(...page.filter((l) => l.line.startsWith('apply line')).map((l) => l.line));
    }
    expect(applyLines).toHaveLength(20_000);
    expect(applyLines[19_999]).toBe('apply line 19999');
    const planText = all.map((l) => l.line).join('\n');
    expect(planText).toContain('the token is ••••••');
    expect(planText).not.toContain('s3cret-token-value');
    // Shell metacharacters arrived as data.
    expect(planText).toContain('msg is [$(touch /tmp/deploy-bot-pwned) `id` ; rm -rf /]');
    const { existsSync } = await import('node:fs');
    expect(existsSync('/tmp/deploy-bot-pwned')).toBe(false);
    // The tail reads the last lines.
    expect((await h.core.readLogs(run.id, { tail: 2 })).length).toBe(2);
    // A follower that shows only a window skips a backlog instead of paging through it.
    const got: { lines: number; skipped: number; last: number }[] = [];
    const stop = await h.core.followLogs(
      run.id,
      (lines, skipped) => got.push({ lines: lines.length, skipped, last: lines.at(-1)!.id }),
      { afterId: 0, keepNewest: 100 },
    );
    const deadline = Date.now() + 5000;
    while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stop();
    expect(got[0]).toEqual({ lines: 100, skipped: count - 100, last: after });
  });
});
