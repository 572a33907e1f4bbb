// "Run again" on a finished run's message and `/deploy history NAME` with
// "Deploy this version": a new run with the old run's variables (sensitive
// ones take their default again), planned and waiting for both approvals.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBlocks } from '../src/bot/render/limits.ts';
import { type BotHarness, CHANNEL, messageText, startBotHarness } from './support/bot-harness.ts';
import { APPROVER } from './support/harness.ts';
import {
  blockActionsBody,
  findButtons,
  signedFormHeaders,
  TEST_SIGNING_SECRET,
} from './support/slack-signing.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    notify: none
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true }
      replicas: { type: number, default: 2 }
      api_key: { type: string, sensitive: true, default: "topsecret-value" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo "plan image=$DEPLOY_VAR_image_tag replicas=$DEPLOY_VAR_replicas"
echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await b?.close();
});

async function completedRun(vars: string) {
  const runId = await b.runIdOf(await b.command(`web ${vars}`));
  await b.h.waitFor(runId, 'awaiting_plan_approval');
  await b.h.core.approvePlan(runId, APPROVER);
  await b.h.core.confirmApply(runId, APPROVER);
  await b.h.waitFor(runId, 'completed');
  return runId;
}

async function newestRunAfter(runIds: readonly string[]) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const runs = await b.h.core.listRuns({ deployment: 'web' });
    const fresh = runs.find((r) => !runIds.includes(r.id));
    if (fresh) return fresh;
    if (Date.now() > deadline) throw new Error('no new run');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('again, and a previous version', () => {
  let first: string;
  let second: string;

  it('a finished run’s message offers Run again: a new run with the same variables, waiting for both approvals', async () => {
    first = await completedRun('image_tag=1.0.0 replicas=3');
    second = await completedRun('image_tag=2.0.0 replicas=4');
    const done = await b.messageWhere(second, (m) =>
      findButtons(m.blocks).some((x) => x.actionId === 'run_again'),
    );
    expect(validateBlocks(done.blocks)).toEqual([]);
    const click = await b.click(done, 'run_again', { user: 'U0OTHER' });
    expect(click.status).toBe(200);
    const again = await newestRunAfter([first, second]);
    expect(again.variables).toMatchObject({ image_tag: '2.0.0', replicas: 4 });
    expect(again.requestedBy).toBe('U0OTHER');
    await b.h.waitFor(again.id, 'awaiting_plan_approval');
    await b.runMessage(again.id);
    const [reply] = await b.replies(click.responseUrl);
    expect(reply).toContain(again.id);
    expect(reply).toContain('api_key is sensitive');
    await b.h.core.cancelRun(again.id, APPROVER);
  });

  it('/deploy history NAME lists completed runs (sensitive masked); Deploy this version plans the old values', async () => {
    const res = await b.command('history web');
    await b.replies(res.responseUrl);
    const body = b.slack.responsesFor(res.responseUrl)[0]!.body as {
      text: string;
      blocks: unknown[];
    };
    expect(validateBlocks(body.blocks, body.text)).toEqual([]);
    const text = JSON.stringify(body);
    expect(text).toContain(first);
    expect(text).toContain(second);
    expect(text.indexOf(second)).toBeLessThan(text.indexOf(first));
    expect(text).toContain('image_tag=1.0.0');
    expect(text).not.toContain('topsecret-value');
    expect(findButtons(body.blocks).filter((x) => x.actionId === 'deploy_version')).toHaveLength(2);

    const before = (await b.h.core.listRuns({ deployment: 'web' })).map((r) => r.id);
    const responseUrl = b.slack.responseUrl();
    const clickBody = blockActionsBody({
      message: { ts: '1700000000.999999', blocks: body.blocks },
      channelId: CHANNEL,
      userId: 'U0REQUESTER',
      actionId: 'deploy_version',
      blockId: `version:${first}`,
      responseUrl,
    });
    const click = await fetch(b.eventsUrl, {
      method: 'POST',
      headers: signedFormHeaders(TEST_SIGNING_SECRET, clickBody),
      body: clickBody,
    });
    expect(click.status).toBe(200);
    const old = await newestRunAfter(before);
    expect(old.variables).toMatchObject({ image_tag: '1.0.0', replicas: 3 });
    await b.h.waitFor(old.id, 'awaiting_plan_approval');
    const logs = (await b.h.core.readLogs(old.id)).map((l) => l.line).join('\n');
    expect(logs).toContain('plan image=1.0.0 replicas=3');
    const message = await b.runMessage(old.id);
    expect(messageText(message)).toContain('1.0.0');

    const unknown = await b.command('history nope');
    const [refused] = await b.replies(unknown.responseUrl);
    expect(refused).toContain('there is no deployment');
  });
});
