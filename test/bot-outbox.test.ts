// Slack delivery through the outbox: outages, 5xx, 429 with Retry-After,
// refused blocks, deleted messages, channels the bot is not in, the plan and
// the failure log in the thread, the update rate of a noisy apply, a burst of
// requests, several bot processes, and the sweep. Nothing is lost, nothing is
// posted twice; changes within the update gap cost one delivery.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localBotPort } from '../src/bot/local-port.ts';
import { createLog } from '../src/bot/log.ts';
import { createOutbox } from '../src/bot/outbox/outbox.ts';
import { createSchedule } from '../src/bot/outbox/schedule.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import { createSlackClient } from '../src/bot/slack/client.ts';
import { createMessageRow, getMessageRow } from '../src/bot/store/messages.ts';
import { DeployCore } from '../src/core/api/core.ts';
import type { Actor } from '../src/core/api/types.ts';
import { parseConfig } from '../src/core/config/load.ts';
import {
  type BotHarness,
  CHANNEL,
  messageText,
  shownStatus,
  startBotHarness,
} from './support/bot-harness.ts';
import { FAKE_SLACK_TOKEN } from './support/fake-slack.ts';

const CONFIG = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      image_tag: { type: string, default: "1.0.0" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: noisy
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./noisy-apply.sh, timeout: 30s }
  - name: failing
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./failing-apply.sh, timeout: 20s }
  - name: midplan
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./mid-plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: hostile
    environment: "<!channel> *prod* & <everyone>"
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    variables:
      msg: { type: string, maxLength: 5000, default: "x" }
    executor: { kind: script, plan: ./plan.sh, apply: ./hostile-apply.sh, timeout: 20s }
  - name: bigplan
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./big-plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'src/plan.sh': `echo "planning"
echo '{"changes":[{"address":"service.web","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': `echo applying; printf '{"endpoint":"https://web.example.com"}' > "$DEPLOY_OUTPUTS_FILE"`,
  'src/noisy-apply.sh': `i=0
while [ $i -lt 160 ]; do echo "apply progress line $i"; i=$((i+1)); sleep 0.025; done`,
  'src/failing-apply.sh': `i=0
while [ $i -lt 40 ]; do echo "failing apply line $i"; i=$((i+1)); done
echo "Error: creating the service: AccessDenied: not authorized to perform ec2:RunInstances on resource arn:aws:ec2:us-east-1:123456789012:instance/*" >&2
exit 3`,
  'src/hostile-apply.sh': `node -e '
process.stderr.write("Error: <!channel> \`\`\` *boom* & " + "\u{1F600}".repeat(2000) + "x".repeat(60000) + " the end of the error\\n");
for (let i = 0; i < 50; i++) console.log("\u001b[31m" + "y".repeat(5000) + "\u001b[0m");
process.exit(2);
'`,
  'src/mid-plan.sh': `i=0
while [ $i -lt 120 ]; do echo "  + resource.item_$i will be created (mid plan line)"; i=$((i+1)); done
echo '{"changes":[{"address":"resource.item_0","action":"create"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/big-plan.sh': `node -e '
const changes = [];
for (let i = 0; i < 3000; i++) {
  console.log("  # module.cluster.aws_instance.node[" + i + "] will be created");
  changes.push({ address: "module.cluster.aws_instance.node[" + i + "]", action: i % 3 === 0 ? "update" : "create" });
}
require("fs").writeFileSync(process.env.DEPLOY_PLAN_FILE, JSON.stringify({ changes }));
'`,
};

const APPROVER: Actor = { id: 'U0APPROVER', via: 'cli' };
const channels: Record<string, { is_private?: boolean; is_member?: boolean }> = {
  C0DEPLOYS: {},
  C0SECOND: {},
  C0PRIVATE: { is_private: true, is_member: false },
};

let b: BotHarness;
beforeAll(async () => {
  b = await startBotHarness({
    config: CONFIG,
    files: FILES,
    slack: { channels },
    outbox: { sweepMs: 400, maxBackoffMs: 1500, slowRetryMs: 1500 },
  });
});
afterAll(async () => {
  await b?.close();
});

async function start(text: string, channel = CHANNEL): Promise<string> {
  return b.runIdOf(await b.command(text, { channel }));
}

/** Both approvals through the core (as from the CLI), then waits for `end`. */
async function approveAndApply(runId: string, end: string | string[] = 'completed') {
  const planned = await b.h.waitFor(runId, 'awaiting_plan_approval');
  await b.h.core.approvePlan(runId, APPROVER, { planId: planned.plan?.id });
  await b.h.core.confirmApply(runId, APPROVER, { planId: planned.plan?.id });
  return b.h.waitFor(runId, end as never, 30_000);
}

const mainPosts = (runId: string) =>
  b.slack
    .callsTo('chat.postMessage')
    .filter(
      (c) =>
        c.response.ok === true &&
        c.args.thread_ts === undefined &&
        JSON.stringify(c.args.blocks ?? '').includes(`header:${runId}`),
    );

function waitStatus(runId: string, label: string, timeoutMs = 20_000, channel = CHANNEL) {
  return b.messageWhere(runId, (m) => shownStatus(m).startsWith(label), timeoutMs, channel);
}

describe('Slack outages and errors delay messages but lose none and duplicate none', () => {
  it('Slack down from the request to the end of the run: one message, the true state, after recovery', async () => {
    b.slack.down();
    let runId: string;
    try {
      const res = await b.command('web image_tag=2.0.0');
      expect(res.status).toBe(200);
      // The reply could not be delivered (Slack is down): find the run in the core.
      runId = await b.slack.waitFor(
        () => b.logs.find((l) => l.msg === 'run requested')?.runId as string,
      );
      await approveAndApply(runId);
      const row = await getMessageRow(b.h.core.db, runId);
      expect(row?.ts).toBeNull();
      expect(row?.lastError).toContain('Slack is unavailable');
      expect(b.messagesOf(runId)).toHaveLength(0);
    } finally {
      b.slack.up();
    }
    const done = await waitStatus(runId, 'Completed', 10_000);
    expect(messageText(done)).toContain('https://web.example.com');
    expect(mainPosts(runId)).toHaveLength(1);
    expect(b.messagesOf(runId)).toHaveLength(1);
    await b.slack.waitFor(() => b.slack.thread(CHANNEL, done.ts).length > 0);
    await b.slack.waitFor(async () => (await getMessageRow(b.h.core.db, runId))?.settled);
  });

  it('an outage in the middle of a run: the message catches up with the truth', async () => {
    const runId = await start('web image_tag=3.0.0');
    await waitStatus(runId, 'Awaiting plan');
    b.slack.down();
    try {
      await approveAndApply(runId);
      await new Promise((r) => setTimeout(r, 500));
      expect(shownStatus(b.messagesOf(runId)[0]!)).toMatch(/^Awaiting plan/);
    } finally {
      b.slack.up();
    }
    const recovered = performance.now();
    await waitStatus(runId, 'Completed', 10_000);
    expect(performance.now() - recovered).toBeLessThan(5000);
    expect(mainPosts(runId)).toHaveLength(1);
    expect(b.messagesOf(runId)).toHaveLength(1);
  });

  it('429 with Retry-After: the next call waits at least that long', async () => {
    const runId = await start('web image_tag=4.0.0');
    const message = await waitStatus(runId, 'Awaiting plan');
    await b.slack.waitFor(() => b.slack.thread(CHANNEL, message.ts).length > 0);
    b.slack.fail('chat.update', { error: 'ratelimited', retryAfter: 2 }, 1);
    const planned = await b.h.core.getRun(runId);
    await b.h.core.approvePlan(runId, APPROVER, { planId: planned.plan?.id });
    await waitStatus(runId, 'Awaiting apply', 10_000);
    const updates = b.slack.callsTo('chat.update').filter((c) => c.args.ts === message.ts);
    const limited = updates.findIndex((c) => c.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    const next = updates[limited + 1];
    expect(next?.response.ok).toBe(true);
    expect(next!.at - updates[limited]!.at).toBeGreaterThanOrEqual(1950);
    expect(b.logs.some((l) => l.msg.startsWith('Slack delivery failed') && l.runId === runId)).toBe(
      true,
    );
  });

  it('5xx on the first post: retried with backoff, posted once', async () => {
    b.slack.fail('chat.postMessage', { status: 502 }, 2);
    const runId = await start('web image_tag=5.0.0');
    await waitStatus(runId, 'Awaiting plan');
    expect(mainPosts(runId)).toHaveLength(1);
    expect(b.messagesOf(runId)).toHaveLength(1);
  });

  it('refused blocks: a plainer message with the buttons, then the full one again', async () => {
    const runId = await start('web image_tag=6.0.0');
    const message = await waitStatus(runId, 'Awaiting plan');
    b.slack.fail('chat.update', { error: 'invalid_blocks' }, 1);
    const planned = await b.h.core.getRun(runId);
    await b.h.core.approvePlan(runId, APPROVER, { planId: planned.plan?.id });
    const plain = await b.messageWhere(runId, (m) =>
      messageText(m).includes('Details could not be shown'),
    );
    expect(messageText(plain)).toContain('confirm_apply');
    expect(validateBlocks(plain.blocks)).toEqual([]);
    await b.h.core.cancelRun(runId, APPROVER, { reason: 'enough' });
    const full = await waitStatus(runId, 'Cancelled');
    expect(messageText(full)).not.toContain('Details could not be shown');
    expect(full.ts).toBe(message.ts);
  });

  it('a deleted message is posted again', async () => {
    const runId = await start('web image_tag=7.0.0');
    const message = await waitStatus(runId, 'Awaiting plan');
    message.deleted = true;
    await b.h.core.cancelRun(runId, APPROVER, { reason: 'gone' });
    const again = await waitStatus(runId, 'Cancelled');
    expect(again.ts).not.toBe(message.ts);
    expect(b.messagesOf(runId)).toHaveLength(1);
    // The new ts is stored right after Slack answers the post.
    const deadline = Date.now() + 5000;
    while ((await getMessageRow(b.h.core.db, runId))?.ts !== again.ts && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await getMessageRow(b.h.core.db, runId))?.ts).toBe(again.ts);
  });

  it('a channel the bot is not in: the requester is told, the message appears once invited', async () => {
    const res = await b.command('web image_tag=8.0.0', { channel: 'C0PRIVATE' });
    const replies = await b.replies(res.responseUrl, 2);
    const runId = /run-[0-9a-z]{10}/.exec(replies[0] ?? '')?.[0] ?? '';
    expect(replies.join('\n')).toContain(
      `I could not post the message of run \`${runId}\` in <#C0PRIVATE>: not_in_channel`,
    );
    await b.h.waitFor(runId, 'awaiting_plan_approval');
    channels.C0PRIVATE = { is_private: true, is_member: true };
    await waitStatus(runId, 'Awaiting plan', 10_000, 'C0PRIVATE');
    expect(b.messagesOf(runId, 'C0PRIVATE')).toHaveLength(1);
  });
});

describe('the thread: nothing hidden', () => {
  it('a longer plan: a few messages in the thread with every line', async () => {
    const runId = await start('midplan');
    const message = await waitStatus(runId, 'Awaiting plan');
    const thread = await b.slack.waitFor(() => {
      const t = b.slack.thread(CHANNEL, message.ts);
      return t.length >= 2 ? t : null;
    });
    await new Promise((r) => setTimeout(r, 500));
    const all = b.slack.thread(CHANNEL, message.ts);
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(all.length).toBeLessThanOrEqual(4);
    const text = all.map((t) => t.text).join('\n');
    for (let i = 0; i < 120; i++) expect(text).toContain(`resource.item_${i} will`);
    expect(thread[0]?.text).toContain('part 1/');
    for (const t of all) expect(t.text.length).toBeLessThanOrEqual(3000);
  });

  it('a huge plan: cut to fit in the message, the complete plan as a file in the thread', async () => {
    const runId = await start('bigplan');
    const message = await waitStatus(runId, 'Awaiting plan', 30_000);
    expect(validateBlocks(message.blocks, message.text)).toEqual([]);
    expect(messageText(message)).toContain('+2000 to add, ~1000 to change, -0 to destroy');
    expect(messageText(message)).toMatch(/…and \d+ more \(full plan in the thread\)/);
    const file = await b.slack.waitFor(() =>
      [...b.slack.files.values()].find((f) => f.completed && f.filename === `${runId}-plan.txt`),
    );
    expect(file.threadTs).toBe(message.ts);
    expect(file.channel).toBe(CHANNEL);
    const planText = await b.h.core.planText(runId);
    expect(file.content?.toString('utf8')).toBe(planText);
    expect(planText).toContain('node[2999] will be created');
  });

  it('a failed run: failed phase, error, hint and log tail; the full log in the thread', async () => {
    const runId = await start('failing');
    await approveAndApply(runId, 'failed');
    const failed = await waitStatus(runId, 'Failed');
    const text = messageText(failed);
    expect(text).toContain('*Failed phase:* execute');
    expect(text).toContain('AccessDenied: not authorized');
    expect(text).toContain('*What to do:*');
    expect(text).toContain('failing apply line 39');
    expect(validateBlocks(failed.blocks)).toEqual([]);
    const log = await b.slack.waitFor(() => {
      const t = b.slack
        .thread(CHANNEL, failed.ts)
        .map((m) => m.text)
        .join('\n');
      return t.includes('Full log') && t.includes('AccessDenied') ? t : null;
    });
    expect(log).toContain('failing apply line 0');
    expect(log).toContain('failing apply line 39');
  });
});

describe('hostile input', () => {
  it('huge values, errors and log lines: every message Slack got was valid', async () => {
    const msg = `<!channel> *a* _b_ \`\`\` & <@U1> ${'é'.repeat(300)}${'z'.repeat(4000)}`.slice(
      0,
      5000,
    );
    const runId = await start(`hostile msg="${msg.replaceAll('"', '')}"`);
    await approveAndApply(runId, 'failed');
    const failed = await waitStatus(runId, 'Failed');
    expect(messageText(failed)).toContain('exited with code 2');
    expect(messageText(failed)).toContain('&lt;!channel&gt; *a* _b_');
    for (const version of failed.versions) {
      expect(validateBlocks(version.blocks ?? [], version.text)).toEqual([]);
    }
    await b.slack.waitFor(
      () =>
        b.slack.thread(CHANNEL, failed.ts).some((m) => m.text.includes('Full log')) ||
        [...b.slack.files.values()].some((f) => f.filename === `${runId}-log.txt` && f.completed),
    );
    // Slack never refused a message for its size or blocks (the injected fault has no details).
    const refused = b.slack.calls.filter(
      (c) =>
        (c.response.error === 'invalid_blocks' || c.response.error === 'msg_blocks_too_long') &&
        c.response.response_metadata !== undefined,
    );
    expect(refused).toEqual([]);
  });
});

describe('update rate', () => {
  it('a noisy apply: the latest lines at most about once a second; the end within 2 s', async () => {
    const runId = await start('noisy');
    const message = await waitStatus(runId, 'Awaiting plan');
    const run = await approveAndApply(runId);
    const done = await waitStatus(runId, 'Completed');
    const updates = b.slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === message.ts)
      .map((c) => ({ at: c.at, text: JSON.stringify(c.args.blocks) }));
    const gaps = updates.slice(1).map((u, i) => u.at - updates[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(950);
    const progress = updates.filter((u) => u.text.includes('apply progress line'));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // Fewer updates than a 1/s cadence over the run allows.
    const spanSeconds = (updates.at(-1)!.at - updates[0]!.at) / 1000;
    expect(updates.length).toBeLessThanOrEqual(spanSeconds + 2);
    const finished = Date.parse(run.finishedAt ?? '');
    const finalUpdate = done.versions.at(-1)!.at;
    expect(finalUpdate - finished).toBeLessThan(2500);
  });
});

describe('a burst of requests', () => {
  it('20 commands at once: every message posted once and brought to its state within seconds', async () => {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => b.command(`web image_tag=20.0.${i}`)),
    );
    for (const r of results) expect(r.status).toBe(200);
    const ids = await Promise.all(results.map((r) => b.runIdOf(r)));
    // The queue drains at once (not at its polling interval) and no delivery
    // waits out an update gap holding a job: either would take minutes for 20
    // runs. 60 s leaves room for 20 sandboxed plans on 2 busy shared cores.
    for (const id of ids) await waitStatus(id, 'Awaiting plan', 60_000);
    expect(performance.now() - started).toBeLessThan(60_000);
    for (const id of ids) {
      expect(mainPosts(id)).toHaveLength(1);
      const ts = b.messagesOf(id)[0]!.ts;
      const deliveries = b.slack.calls.filter(
        (c) =>
          (c.method === 'chat.update' && c.args.ts === ts) ||
          (c.method === 'chat.postMessage' && c.response.ts === ts),
      );
      const times = deliveries.map((c) => c.at);
      // Posted, then at most one update per second (pending → planning → awaiting
      // coalesce; how many states a slow plan shows depends on the machine), and
      // never an update that shows what the message already shows.
      expect(times.length).toBeLessThanOrEqual(4);
      for (let i = 1; i < times.length; i++) {
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(950);
        expect(JSON.stringify(deliveries[i]!.args.blocks)).not.toBe(
          JSON.stringify(deliveries[i - 1]!.args.blocks),
        );
      }
    }
  }, 120_000);
});

describe('what a run change asks for (schedule)', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('within the update gap: one delivery at its end; a version shown already: none', async () => {
    const sent: number[] = [];
    const s = createSchedule(
      { minUpdateGapMs: 300, logRefreshMs: 400 },
      () => sent.push(Date.now()),
      () => 0,
    );
    try {
      s.begin('r1');
      const delivered = Date.now();
      s.done('r1', { version: 2, updatedAt: delivered });
      s.changed('r1', 2, 'pending');
      s.logged('r1');
      expect(sent).toEqual([]);
      s.changed('r1', 3, 'planning');
      s.changed('r1', 4, 'awaiting_plan_approval');
      s.poke('r1');
      await sleep(100);
      expect(sent).toEqual([]);
      await sleep(350);
      expect(sent).toHaveLength(1);
      expect(sent[0]! - delivered).toBeGreaterThanOrEqual(300);

      // A change while a delivery runs is asked for when it ends, after the gap.
      s.begin('r1');
      s.changed('r1', 5, 'cancelled');
      const ended = Date.now();
      s.done('r1', { version: 4, updatedAt: ended });
      await sleep(100);
      expect(sent).toHaveLength(1);
      await sleep(350);
      expect(sent).toHaveLength(2);
      expect(sent[1]! - ended).toBeGreaterThanOrEqual(300);

      // A run without a message asks nothing more; nor do log lines of a run that shows none.
      s.none('r2');
      s.changed('r2', 7, 'planning');
      s.logged('r1');
      await sleep(50);
      expect(sent).toHaveLength(2);
    } finally {
      s.stop();
    }
  });

  it('a job sent and not yet started stands for the changes meanwhile', async () => {
    const sent: string[] = [];
    const s = createSchedule(
      { minUpdateGapMs: 300, logRefreshMs: 400 },
      (id) => sent.push(id),
      () => 0,
    );
    try {
      s.changed('r3', 1, 'pending');
      s.changed('r3', 2, 'initializing');
      s.changed('r3', 3, 'planning');
      expect(sent).toEqual(['r3']);
      // Not started here within a second (another process may have): sent again.
      await sleep(1100);
      expect(sent).toEqual(['r3', 'r3']);
      s.begin('r3');
      s.done('r3', { version: 3, updatedAt: Date.now() });
      await sleep(50);
      expect(sent).toHaveLength(2);
    } finally {
      s.stop();
    }
  });
});

describe('several bot processes and the sweep', () => {
  it('two processes delivering the same runs: never two messages for a run', async () => {
    const core2 = await DeployCore.open({
      databaseUrl: b.h.db.url,
      dataDir: b.h.dataDir,
      config: parseConfig(CONFIG, `${b.h.dir}/deploy.config.yaml`),
      migrate: false,
      poolSize: 4,
    });
    const outbox2 = createOutbox({
      core: localBotPort(core2),
      client: createSlackClient({
        token: FAKE_SLACK_TOKEN,
        slackApiUrl: b.slack.url,
        logger: quietLogger,
      }),
      log: createLog({ level: 'silent' }),
      owner: 'second-process',
      tuning: { sweepMs: 300, maxBackoffMs: 1500 },
    });
    await outbox2.start();
    try {
      const ids = await Promise.all(
        Array.from({ length: 5 }, (_, i) => start(`web image_tag=10.0.${i}`, 'C0SECOND')),
      );
      for (const id of ids) await waitStatus(id, 'Awaiting plan', 20_000, 'C0SECOND');
      for (const id of ids) {
        expect(b.messagesOf(id, 'C0SECOND')).toHaveLength(1);
        expect(mainPosts(id)).toHaveLength(1);
      }
      // A head-on race for the first post of the same run.
      const run = await b.h.core.requestRun({
        deployment: 'web',
        actor: { id: 'U0REQUESTER', via: 'slack', channel: 'C0SECOND' },
      });
      await b.h.waitFor(run.id, 'awaiting_plan_approval');
      await createMessageRow(b.h.core.db, {
        runId: run.id,
        channel: 'C0SECOND',
        requestedBy: 'U0REQUESTER',
        responseUrl: null,
      });
      await Promise.all([
        b.bot.outbox.syncRun(run.id),
        outbox2.syncRun(run.id),
        b.bot.outbox.syncRun(run.id),
        outbox2.syncRun(run.id),
      ]);
      await waitStatus(run.id, 'Awaiting plan', 10_000, 'C0SECOND');
      await new Promise((r) => setTimeout(r, 800));
      expect(mainPosts(run.id)).toHaveLength(1);
    } finally {
      await outbox2.stop();
      await core2.close();
    }
  });

  it('a delivery held by a process that died is taken over when its lease runs out', async () => {
    const runId = await start('web image_tag=11.0.0');
    await waitStatus(runId, 'Awaiting plan');
    await b.h.core.connection.sql`
      update slack_messages set lease_owner = 'a-process-that-died', lease_until = now() + interval '2 seconds'
      where run_id = ${runId}`;
    const started = performance.now();
    await b.h.core.cancelRun(runId, APPROVER, { reason: 'taken over' });
    await waitStatus(runId, 'Cancelled', 10_000);
    expect(performance.now() - started).toBeGreaterThan(1500);
    expect(b.messagesOf(runId)).toHaveLength(1);
  });

  it('the sweep delivers what no notification announced, and settles finished runs', async () => {
    const run = await b.h.core.requestRun({
      deployment: 'web',
      actor: { id: 'U0REQUESTER', via: 'slack', channel: CHANNEL },
    });
    await b.h.waitFor(run.id, 'awaiting_plan_approval');
    // A row nobody enqueued a job for (as if the process died right after the request).
    await createMessageRow(b.h.core.db, {
      runId: run.id,
      channel: CHANNEL,
      requestedBy: 'U0REQUESTER',
      responseUrl: null,
    });
    await waitStatus(run.id, 'Awaiting plan', 5000);
    await b.h.core.cancelRun(run.id, APPROVER, { reason: 'swept' });
    await waitStatus(run.id, 'Cancelled');
    await b.slack.waitFor(async () => (await getMessageRow(b.h.core.db, run.id))?.settled === true);
  });
});

const quietLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => 'error' as never,
  setName: () => {},
};
