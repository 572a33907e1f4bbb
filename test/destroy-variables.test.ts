// Destroy removes what exists: it takes the variables of the deployment's last
// completed execute, a typed key=value overrides one, and only a deployment
// never applied needs them typed. The plan's log and the run (status --json)
// say which values were used and where each came from.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { formatRun } from '../src/cli/format.ts';
import { isRefusal, type Refusal } from '../src/core/errors.ts';
import { messageText } from './support/bot-harness.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./web }
    variables:
      image_tag: { type: string, required: true }
      replicas: { type: number, default: 2 }
      token: { type: string, required: true, sensitive: true }
      mode: { type: select, options: [ok, fail], default: ok }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, destroyPlan: ./plan.sh, destroy: ./destroy.sh, timeout: 20s }
`;

const FILES = {
  'web/plan.sh': `echo '{"changes":[{"address":"web.service","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'web/apply.sh': `[ "$DEPLOY_VAR_mode" = fail ] && { echo "Error: quota" >&2; exit 2; }
echo "applied $DEPLOY_VAR_image_tag"`,
  'web/destroy.sh': `echo "$DEPLOY_VAR_image_tag $DEPLOY_VAR_replicas $DEPLOY_VAR_token" > "$DEPLOY_STATE_DIR/destroyed-with"`,
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (isRefusal(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const request = (kind: 'execute' | 'destroy', variables: Record<string, string> = {}) =>
  h.core.requestRun({ deployment: 'web', kind, variables, actor: REQUESTER });

async function approveAndApply(runId: string, end: 'completed' | 'destroyed' | 'failed') {
  const planned = await h.waitFor(runId, 'awaiting_plan_approval');
  await h.core.approvePlan(runId, APPROVER, { planId: planned.plan!.id });
  await h.core.confirmApply(runId, APPROVER, { planId: planned.plan!.id });
  return h.waitFor(runId, end);
}

describe('destroy takes what was deployed', () => {
  it('a deployment never applied needs its required variables typed', async () => {
    const r = await refusal(request('destroy'));
    expect(r.code).toBe('invalid_variables');
    expect(r.message).toContain('missing required variable image_tag');
    expect(r.message).toContain('web has no completed execute to take its values from: type them');
  });

  it('by default the values of the last completed execute, typed ones overriding; each with its origin', async () => {
    const applied = await request('execute', {
      image_tag: '1.4.2',
      replicas: '3',
      token: 's3cret-tok',
    });
    await approveAndApply(applied.id, 'completed');
    // A later execute that failed changed nothing a destroy should follow.
    const failed = await request('execute', {
      image_tag: '9.9.9',
      token: 'other-tok',
      mode: 'fail',
    });
    await approveAndApply(failed.id, 'failed');

    const destroy = await request('destroy', { replicas: '5' });
    expect(destroy.variables).toEqual({
      image_tag: '1.4.2',
      replicas: 5,
      token: '••••••',
      mode: 'ok',
    });
    expect(destroy.variableSources).toEqual({
      image_tag: { from: 'last_execute', runId: applied.id },
      replicas: { from: 'typed' },
      token: { from: 'last_execute', runId: applied.id },
      mode: { from: 'last_execute', runId: applied.id },
    });
    await approveAndApply(destroy.id, 'destroyed');
    // The step got the real values, the sensitive one included.
    expect(
      readFileSync(path.join(h.dataDir, 'state', 'web', 'destroyed-with'), 'utf8').trim(),
    ).toBe('1.4.2 5 s3cret-tok');
    // The plan's log says which values and where from, never the sensitive value.
    const logs = (await h.core.readLogs(destroy.id)).map((l) => l.line);
    const used = logs.find((l) => l.startsWith('variables: ')) ?? '';
    expect(used.slice('variables: '.length).split(' ').sort()).toEqual(
      [
        `image_tag=1.4.2 (from ${applied.id})`,
        'replicas=5',
        `token=•••••• (from ${applied.id})`,
        `mode=ok (from ${applied.id})`,
      ]
        .join(' ')
        .split(' ')
        .sort(),
    );
    expect(logs.join('\n')).not.toContain('s3cret');
    const view = await h.core.getRun(destroy.id);
    expect(JSON.stringify(view)).not.toContain('s3cret');
    const detail = formatRun(view);
    expect(detail).toContain(`image_tag=1.4.2 (from ${applied.id})`);
    expect(detail).toContain(`token=•••••• (from ${applied.id})`);
    expect(detail).toMatch(/variables: .*replicas=5( |$)/m);
    // The Slack run message shows them with their origin too.
    const message = messageText(renderRunMessage(view));
    expect(message).toContain(`(from ${applied.id})`);
    expect(message).not.toContain('s3cret');
    // An execute says where its values came from too.
    const again = await h.core.getRun(applied.id);
    expect(again.variableSources).toEqual({
      image_tag: { from: 'typed' },
      replicas: { from: 'typed' },
      token: { from: 'typed' },
      mode: { from: 'default' },
    });
  });
});
