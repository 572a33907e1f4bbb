// `/deploy` over HTTP as Slack sends it: every sub-command, every refusal with
// its usage, quoting, the channel rule, busy deployments, retries and
// duplicate deliveries.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateBlocks } from '../src/bot/render/limits.ts';
import {
  type BotHarness,
  CHANNEL,
  messageText,
  shownStatus,
  startBotHarness,
} from './support/bot-harness.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    description: The public web tier
    approvers: [U0APPROVER, S0OPS]
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$" }
      replicas: { type: number, default: 2, integer: true, min: 1, max: 10 }
      msg: { type: string, default: "hi" }
      api_key: { type: string, sensitive: true, default: "topsecret-value" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, destroyPlan: ./plan-destroy.sh, destroy: ./destroy.sh, timeout: 20s }
  - name: locked
    environment: staging
    approvers: [U0APPROVER]
    channels: [C0OTHER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: slow
    environment: dev
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./slow-plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo "plan image=$DEPLOY_VAR_image_tag msg=$DEPLOY_VAR_msg key=$DEPLOY_VAR_api_key"
for i in 1 2 3 4 5 6 7 8; do echo "plan line $i"; done
echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/slow-plan.sh': `echo "slow plan"; sleep 3
echo '{"changes":[{"address":"service.slow","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/plan-destroy.sh': `echo '{"changes":[{"address":"service.web","action":"delete"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/destroy.sh': 'echo destroyed',
  'src/apply.sh': 'echo applying',
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: FILES,
    slack: { userGroups: { S0OPS: ['U0GROUPIE'] } },
  });
});
afterAll(async () => {
  await b?.close();
});

/** Sends `/deploy text` and returns the first ephemeral reply (checked against Block Kit's limits). */
async function ask(text: string, options: { user?: string; channel?: string } = {}) {
  const res = await b.command(text, options);
  expect(res.status).toBe(200);
  expect(res.ms).toBeLessThan(3000);
  const [reply] = await b.replies(res.responseUrl);
  const body = b.slack.responsesFor(res.responseUrl)[0]!.body as {
    text: string;
    blocks?: unknown[];
    response_type: string;
  };
  expect(body.response_type).toBe('ephemeral');
  expect(validateBlocks(body.blocks ?? [], body.text)).toEqual([]);
  return { res, reply: reply ?? '', body };
}

const runIdIn = (text: string) => /run-[0-9a-z]{10}/.exec(text)?.[0] ?? '';

describe('help and list', () => {
  // `/deploy` alone opens the form (bot-forms.test.ts); it answers with this help when it cannot.
  it('/deploy help: usage with examples and the deployments of this channel', async () => {
    for (const text of ['help', 'HELP']) {
      const { reply } = await ask(text);
      expect(reply).toContain('How to use /deploy');
      expect(reply).toContain('/deploy destroy &lt;deployment&gt;');
      expect(reply).toContain('/deploy logs &lt;run-id&gt; [N]');
      expect(reply).toContain('Examples');
      expect(reply).toContain('msg=\\"hello world\\"');
      expect(reply).toContain('`web`');
      // The channel rule: `locked` may only be run from C0OTHER.
      expect(reply).not.toContain('`locked`');
    }
    const other = await ask('help', { channel: 'C0OTHER' });
    expect(other.reply).toContain('`locked`');
  });

  it('/deploy help NAME: the variables and the usage', async () => {
    const { reply } = await ask('help web');
    expect(reply).toContain('`image_tag` (string; required)');
    expect(reply).toContain('`api_key` (string; optional, sensitive)');
    expect(reply).not.toContain('topsecret-value');
    expect(reply).toContain('/deploy web image_tag=&lt;string&gt;');
    const wrong = await ask('help wbe');
    expect(wrong.reply).toContain('there is no deployment \\"wbe\\": did you mean web?');
  });

  it('/deploy list: environment and state per deployment', async () => {
    const { reply } = await ask('list');
    expect(reply).toContain('Deployments you can run here');
    expect(reply).toMatch(/`web` \(production\): idle/);
    expect(reply).toMatch(/`slow` \(dev\): idle/);
    expect(reply).not.toContain('`locked`');
  });
});

describe('requesting runs', () => {
  it('/deploy NAME key=value: validated, answered at once, run message posted in the channel', async () => {
    const { reply } = await ask('web image_tag=1.4.2 msg="hello world" replicas=3');
    const runId = runIdIn(reply);
    expect(reply).toContain(`Run \`${runId}\` requested`);
    expect(reply).toContain('*web* → production');
    expect(reply).toContain('Approve plan');
    const run = await b.h.core.getRun(runId);
    expect(run.variables).toEqual({
      image_tag: '1.4.2',
      replicas: 3,
      msg: 'hello world',
      api_key: '••••••',
    });
    expect(run).toMatchObject({
      requestedBy: 'U0REQUESTER',
      requestedVia: 'slack',
      channel: CHANNEL,
    });
    const message = await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Awaiting plan'));
    const text = messageText(message);
    expect(text).toContain('Deploy web → production');
    expect(text).toContain('`msg` = hello world');
    expect(text).toContain('`api_key` = ••••••');
    expect(text).not.toContain('topsecret-value');
    expect(text).toContain('+1 to add, ~0 to change, -0 to destroy');
    // The complete plan is in the thread, redacted.
    const thread = await b.slack.waitFor(() => {
      const replies = b.slack.thread(CHANNEL, message.ts);
      return replies.length > 0 ? replies : null;
    });
    expect(thread.map((t) => t.text).join('\n')).toContain('plan line 8');
    expect(thread.map((t) => t.text).join('\n')).not.toContain('topsecret-value');
  });

  it('smart quotes as Slack types them, and /deploy execute', async () => {
    const { reply } = await ask('execute web image_tag=2.0.0 msg=“hello smart world”');
    const run = await b.h.core.getRun(runIdIn(reply));
    expect(run.variables.msg).toBe('hello smart world');
  });

  it('Slack’s &amp; escaping and smart quotes: the run gets the text as typed', async () => {
    // Slack sends a typed `&` as `&amp;`; `=“` is how macOS types `="`.
    const { reply } = await ask('web image_tag=2.0.1 msg=“a &amp; b”');
    const run = await b.h.core.getRun(runIdIn(reply));
    expect(run.variables.msg).toBe('a & b');
  });

  it('/deploy destroy NAME: the destroy flow, unmistakable', async () => {
    const { reply } = await ask('destroy web image_tag=2.0.0');
    expect(reply).toContain('*DESTROY* of *web*');
    const runId = runIdIn(reply);
    expect((await b.h.core.getRun(runId)).kind).toBe('destroy');
    const message = await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Awaiting plan'));
    expect(messageText(message)).toContain('DESTROY web (production)');
    expect(messageText(message)).toContain('-1 to destroy');
  });

  it('a busy deployment: the run is queued, behind which run', async () => {
    const first = runIdIn((await ask('slow')).reply);
    await b.h.waitFor(first, 'planning');
    const { reply } = await ask('slow');
    const second = runIdIn(reply);
    expect(reply).toContain(`*Queued* behind run \`${first}\` (position 1)`);
    const message = await b.messageWhere(second, (m) => shownStatus(m).startsWith('Queued'));
    expect(messageText(message)).toContain(first);
    await b.h.waitFor(first, 'awaiting_plan_approval');
  });
});

describe('wrong input: what was wrong and the right usage', () => {
  it('unknown deployment, with the closest name', async () => {
    const { reply } = await ask('wbe image_tag=1');
    expect(reply).toContain('there is no deployment \\"wbe\\": did you mean web?');
    expect(reply).toContain('Usage');
    expect(reply).toContain('/deploy &lt;deployment&gt; [name=value …]');
    const far = await ask('zzzzzzzz');
    expect(far.reply).toContain('there is no deployment \\"zzzzzzzz\\"');
    expect(far.reply).toContain('(deployments: web, locked, slow)');
  });

  it('a mistyped sub-command', async () => {
    const { reply } = await ask('stauts');
    expect(reply).toContain('did you mean /deploy status?');
    expect(reply).toContain('/deploy status [&lt;deployment&gt; | &lt;run-id&gt;]');
  });

  it('missing, unknown and invalid variables, all at once, with the deployment’s usage', async () => {
    const missing = await ask('web');
    expect(missing.reply).toContain('missing required variable image_tag (string)');
    expect(missing.reply).toContain(
      '/deploy web image_tag=&lt;string&gt; [replicas=&lt;number, default 2&gt;] [msg=&lt;string, default hi&gt;] [api_key=&lt;string, default (hidden)&gt;]',
    );
    expect(missing.reply).not.toContain('topsecret-value');
    const several = await ask('web image_tag=Bad! replicas=eleven colour=red');
    expect(several.reply).toContain('3 problems with the variables');
    expect(several.reply).toContain('unknown variable colour');
    expect(several.reply).toContain('replicas=\\"eleven\\" is not a number');
    expect(several.reply).toContain('does not match the pattern');
    const range = await ask('web image_tag=ok replicas=11');
    expect(range.reply).toContain('replicas=\\"11\\" is above the maximum 10');
  });

  it('quoting and stray words', async () => {
    const unclosed = await ask('web image_tag=1 msg="hello');
    expect(unclosed.reply).toContain('unclosed quote');
    expect(unclosed.reply).toContain('/deploy &lt;deployment&gt; [name=value …]');
    const stray = await ask('web image_tag=1 please');
    expect(stray.reply).toContain('\\"please\\" is not a variable');
    const twice = await ask('web image_tag=1 image_tag=2');
    expect(twice.reply).toContain('image_tag is given twice');
    const noName = await ask('destroy');
    expect(noName.reply).toContain('which deployment?');
    expect(noName.reply).toContain('/deploy destroy &lt;deployment&gt;');
  });

  it('not allowed in this channel', async () => {
    const { reply } = await ask('locked');
    // A real channel link, not its escaped text.
    expect(reply).toContain('locked cannot be run from this channel: use <#C0OTHER>');
    expect(reply).not.toContain('&lt;#');
    const ok = await ask('locked', { channel: 'C0OTHER' });
    expect(ok.reply).toContain('requested');
  });

  it('unknown runs and bad arguments of status, logs and cancel', async () => {
    const status = await ask('status run-doesnotexist');
    expect(status.reply).toContain('there is no run run-doesnotexist');
    const logs = await ask('logs run-doesnotexist');
    expect(logs.reply).toContain('there is no run run-doesnotexist');
    expect(logs.reply).toContain('/deploy logs &lt;run-id&gt; [N]');
    expect((await ask('logs')).reply).toContain('which run?');
    expect((await ask('logs run-abcdefghij many')).reply).toContain(
      '\\"many\\" is not a number of lines',
    );
    expect((await ask('cancel')).reply).toContain('/deploy cancel &lt;run-id&gt; [reason]');
    expect((await ask('list everything')).reply).toContain('list takes no arguments');
    expect((await ask('status nosuchthing')).reply).toContain(
      'there is no deployment \\"nosuchthing\\"',
    );
  });
});

describe('status, logs and cancel', () => {
  let runId: string;
  beforeAll(async () => {
    const { reply } = await ask('web image_tag=5.0.0');
    runId = runIdIn(reply);
    await b.h.waitFor(runId, 'awaiting_plan_approval');
  });

  it('/deploy status: the active runs', async () => {
    const { reply } = await ask('status');
    expect(reply).toContain('Active runs');
    expect(reply).toContain(runId);
  });

  it('/deploy status RUN: the run without its buttons', async () => {
    const { reply, body } = await ask(`status ${runId}`);
    expect(reply).toContain('Awaiting plan approval');
    expect(reply).toContain(`/deploy logs ${runId}`);
    expect((body.blocks ?? []).some((bl) => (bl as { type: string }).type === 'actions')).toBe(
      false,
    );
  });

  it('/deploy status NAME: recent runs of the deployment', async () => {
    const { reply } = await ask('status web');
    expect(reply).toContain('Recent runs of web (production)');
    expect(reply).toContain(runId);
  });

  it('/deploy logs RUN N: the last N lines, sensitive values redacted', async () => {
    const { reply } = await ask(`logs ${runId} 3`);
    expect(reply).toContain('last 3 lines');
    expect(reply).toContain('plan line 8');
    expect(reply).not.toContain('plan line 5');
    const all = await ask(`logs ${runId}`);
    expect(all.reply).toContain('key=••••••');
    expect(all.reply).not.toContain('topsecret-value');
  });

  it('logs of a deployment limited to another channel are refused here', async () => {
    const { reply } = await ask('locked', { channel: 'C0OTHER' });
    const lockedRun = runIdIn(reply);
    const refused = await ask(`logs ${lockedRun}`);
    expect(refused.reply).toContain('locked cannot be run from this channel');
  });

  it('status of a run or of a deployment, and its help, limited to another channel are refused here, like its logs', async () => {
    const { reply } = await ask('locked', { channel: 'C0OTHER' });
    const lockedRun = runIdIn(reply);
    // (its plan fails: it needs DEPLOY_VAR_image_tag, which `locked` does not have)
    await b.h.waitFor(lockedRun, 'failed');
    for (const text of [
      `status ${lockedRun}`,
      'status locked',
      `logs ${lockedRun}`,
      'help locked',
    ]) {
      const refused = await ask(text);
      expect(refused.reply, text).toContain('locked cannot be run from this channel');
      expect(refused.reply, text).not.toContain('running plan step');
      expect(refused.reply, text).not.toContain(lockedRun);
    }
    const active = await ask('status');
    expect(active.reply).not.toContain(lockedRun);
    // From its own channel every read answers.
    expect((await ask(`status ${lockedRun}`, { channel: 'C0OTHER' })).reply).toContain(
      'running plan step',
    );
    expect((await ask('status locked', { channel: 'C0OTHER' })).reply).toContain(lockedRun);
    expect((await ask('help locked', { channel: 'C0OTHER' })).reply).toContain('locked');
  });

  it('/deploy cancel RUN reason: only the requester or an approver', async () => {
    const stranger = await ask(`cancel ${runId}`, { user: 'U0STRANGER' });
    expect(stranger.reply).toContain('only the requester (U0REQUESTER) or an approver of web');
    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_plan_approval');
    const { reply } = await ask(`cancel ${runId} wrong image tag`);
    expect(reply).toContain('is cancelled: wrong image tag');
    const message = await b.messageWhere(runId, (m) => shownStatus(m).startsWith('Cancelled'));
    expect(messageText(message)).toContain('Cancelled* by <@U0REQUESTER>: wrong image tag');
    const again = await ask(`cancel ${runId}`);
    expect(again.reply).toContain('this run is already cancelled');
  });
});

describe('retries and duplicate deliveries', () => {
  it('a retried command (x-slack-retry-num) never creates a second run', async () => {
    const before = (await b.h.core.listRuns({ deployment: 'web', limit: 500 })).length;
    const triggerId = `retry-${Date.now()}`;
    const first = await b.command('web image_tag=9.9.9', { triggerId });
    const retry = await b.command('web image_tag=9.9.9', {
      triggerId,
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    const duplicate = await b.command('web image_tag=9.9.9', { triggerId });
    const all = [first, retry, duplicate];
    for (const r of all) expect(r.status).toBe(200);
    // All three are acked at once, so any of them may be the one recorded first:
    // that one does the work and answers; the other two are dropped.
    const answered = () => all.filter((r) => b.slack.responsesFor(r.responseUrl).length > 0);
    const winner = await b.slack.waitFor(() => answered()[0], 10_000);
    const runId = await b.runIdOf(winner);
    await new Promise((r) => setTimeout(r, 800));
    const after = await b.h.core.listRuns({ deployment: 'web', limit: 500 });
    expect(after.length).toBe(before + 1);
    expect(after.filter((r) => r.variables.image_tag === '9.9.9').map((r) => r.id)).toEqual([
      runId,
    ]);
    expect(answered()).toEqual([winner]);
    expect(b.logs.some((l) => l.msg.startsWith('duplicate delivery of a command'))).toBe(true);
    await b.runMessage(runId);
    expect(b.messagesOf(runId)).toHaveLength(1);
  });

  it('a refused request is answered again when retried (nothing was done)', async () => {
    const triggerId = `refused-${Date.now()}`;
    const first = await b.command('web', { triggerId });
    await b.replies(first.responseUrl);
    const retry = await b.command('web', { triggerId, headers: { 'x-slack-retry-num': '1' } });
    const [reply] = await b.replies(retry.responseUrl);
    expect(reply).toContain('missing required variable image_tag');
  });
});
