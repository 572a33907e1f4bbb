// Freezes and locks across the front ends, over real PostgreSQL and signed
// Slack requests: a lock taken in Slack refuses an apply from the remote CLI
// (through the API) until it is unlocked; who may lock is the core's check; a
// freeze refuses Apply in Slack, and someone in override.from is asked why in
// a form, the apply goes ahead with the reason stored, shown and audited.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateView } from '../src/bot/render/view-limits.ts';
import { issueToken } from '../src/core/auth/tokens.ts';
import { type BotHarness, messageText, startBotHarness } from './support/bot-harness.ts';
import { cli } from './support/cli.ts';
import { findButtons } from './support/slack-signing.ts';
import { submitView } from './support/slack-views.ts';

const CONFIG = `
freeze:
  - { start: 2000-01-01T00:00, end: 2100-01-01T00:00, timezone: UTC, reason: "end-of-year freeze", deployments: [frozen] }
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER, U0LEAD]
    locks: { from: [U0LEAD] }
    notify: none
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
  - name: frozen
    environment: production
    approvers: [U0APPROVER, U0SRE]
    override: { from: [U0SRE] }
    notify: none
    source: { kind: directory, path: ./src }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 20s }
`;
const FILES = {
  'src/plan.sh': `echo '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'src/apply.sh': 'echo applying',
};

let b: BotHarness;
const saved = { ...process.env };
beforeAll(async () => {
  b = await startBotHarness({ config: CONFIG, files: FILES, api: true });
  // The CLI in remote mode, signed in as U0APPROVER.
  const token = await issueToken(b.h.core.db, {
    userId: 'U0APPROVER',
    name: 'laptop',
    issuedBy: 'test',
  });
  process.env.DEPLOY_SERVER = b.bot.url;
  process.env.DEPLOY_TOKEN = token.secret;
});
afterAll(async () => {
  process.env = saved;
  await b?.close();
});

/** A run requested in Slack, its plan approved: waiting for the apply confirmation. */
async function awaitingApply(deployment: string) {
  const runId = await b.runIdOf(await b.command(deployment));
  const run = await b.h.waitFor(runId, 'awaiting_plan_approval');
  await b.h.core.approvePlan(runId, { id: 'U0APPROVER', via: 'cli' }, { planId: run.plan!.id });
  const message = await b.messageWhere(runId, (m) =>
    findButtons(m.blocks).some((x) => x.actionId === 'confirm_apply'),
  );
  return { runId, message };
}

async function answer(text: string, user: string) {
  const result = await b.command(text, { user });
  const [reply] = await b.replies(result.responseUrl);
  return reply ?? '';
}

describe('locks', () => {
  it('a lock from Slack refuses an apply from the CLI; unlock lets it through; who may lock is enforced', async () => {
    const { runId } = await awaitingApply('web');

    // U0APPROVER approves web but is not in its locks.from.
    expect(await answer('lock web "db failover"', 'U0APPROVER')).toContain(
      'you may not lock web: who may is U0LEAD (locks.from)',
    );
    expect(await answer('lock web', 'U0LEAD')).toContain('a lock needs a reason');
    expect(await answer('lock web “db failover at 14:00”', 'U0LEAD')).toContain(
      'Locked *web*: “db failover at 14:00”',
    );
    expect(await answer('locks', 'U0APPROVER')).toContain('db failover at 14:00');
    // The deployment lists say so too; `frozen` is in its freeze window.
    const list = await answer('list', 'U0APPROVER');
    expect(list).toContain('🔒 locked by <@U0LEAD>');
    expect(list).toContain('❄ frozen until <!date^4102444800');
    expect((await cli('deployments')).out).toContain(
      'locked (web) by U0LEAD: “db failover at 14:00”',
    );

    // Shown on the run it holds, in Slack and in the CLI's status.
    await b.messageWhere(runId, (m) => messageText(m).includes('*Locked* (web) by <@U0LEAD>'));
    const status = await cli('status', runId);
    expect(status.out).toContain('locked:    web by U0LEAD since');
    expect(status.out).toContain('(deploy-bot unlock web)');
    expect(status.out).not.toContain(`deploy-bot apply ${runId}`);

    const refused = await cli('apply', runId);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^deploy-bot: web is locked: U0LEAD locked web at \d{4}-\d\d-\d\d \d\d:\d\d UTC \("db failover at 14:00"\)\. Nothing is applied or destroyed while it is locked; it must be unlocked first \(deploy-bot locks lists the locks/,
    );
    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_apply_approval');
    // The CLI's own lock commands, through the API: the approver may not unlock either.
    const notMine = await cli('unlock', 'web');
    expect(notMine.code).toBe(1);
    expect(notMine.err).toContain('you may not unlock web');
    expect((await cli('locks')).out).toMatch(
      /^web\s+by U0LEAD via slack since .*“db failover at 14:00”$/,
    );

    // Locking from the CLI: an environment needs leave for every deployment in it.
    const env = await cli('lock', 'env:production', '--reason', 'maintenance');
    expect(env.code).toBe(1);
    expect(env.err).toContain(
      'you may not lock web (the environment production covers it): who may is U0LEAD (locks.from)',
    );
    const own = await cli('lock', 'frozen', 'maintenance', 'window');
    expect(own).toMatchObject({ code: 0 });
    expect(own.out).toBe(
      'locked frozen: “maintenance window”. Runs may plan; no apply or destroy is confirmed until deploy-bot unlock frozen',
    );
    expect((await cli('unlock', 'frozen')).out).toMatch(
      /^unlocked frozen \(locked by U0APPROVER since /,
    );

    expect(await answer('unlock web', 'U0LEAD')).toContain('Unlocked *web*');
    expect((await cli('locks')).out).toBe('nothing is locked');
    const applied = await cli('apply', runId, '--wait');
    expect(applied.code).toBe(0);
    expect((await b.h.waitFor(runId, 'completed')).policy?.locks).toEqual([]);
  });
});

describe('freeze windows', () => {
  it('Apply is refused during a freeze; someone in override.from is asked why, and the reason is stored, shown and audited', async () => {
    const { runId, message } = await awaitingApply('frozen');
    await b.messageWhere(runId, (m) => messageText(m).includes('*Frozen* until'));

    // An approver who may not override: refused with the reason and the end.
    const refused = await b.click(message, 'confirm_apply', { user: 'U0APPROVER' });
    const [why] = await b.replies(refused.responseUrl);
    expect(why).toContain('frozen is frozen until 2100-01-01 00:00 UTC (\\"end-of-year freeze\\")');
    expect(why).toContain('only U0SRE may override it, with a written reason');

    // The CLI says the same; without a reason from someone allowed, too.
    const cliRefused = await cli('apply', runId);
    expect(cliRefused.code).toBe(1);
    expect(cliRefused.err).toContain('only U0SRE may override it');

    // U0SRE may override: the click opens a form asking why.
    const before = b.slack.modals().length;
    await b.click(message, 'confirm_apply', { user: 'U0SRE' });
    const modal = await b.slack.waitFor(() => b.slack.modals()[before]);
    expect(validateView(modal.view)).toEqual([]);
    expect(JSON.stringify(modal.view)).toContain('Override the freeze');
    expect(JSON.stringify(modal.view)).toContain('end-of-year freeze');
    const empty = await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0SRE',
      answers: { note: ' ' },
    });
    expect(empty.body).toMatchObject({ response_action: 'errors' });
    expect((await b.h.core.getRun(runId)).status).toBe('awaiting_apply_approval');
    await submitView(b.slack, b.eventsUrl, {
      view: modal,
      userId: 'U0SRE',
      answers: { note: 'hotfix for the payment outage' },
    });
    const done = await b.h.waitFor(runId, 'completed');
    expect(done.approvals.find((a) => a.stage === 'apply')).toMatchObject({
      by: 'U0SRE',
      via: 'slack',
      overrideReason: 'hotfix for the payment outage',
    });
    expect(done.policy?.freeze).toMatchObject({
      reason: 'end-of-year freeze',
      overridden: { by: 'U0SRE', reason: 'hotfix for the payment outage' },
    });
    await b.messageWhere(runId, (m) =>
      messageText(m).includes(
        'Applied during the freeze “end-of-year freeze”: <@U0SRE> overrode it',
      ),
    );
    const audit = await cli('audit', runId);
    expect(audit.out).toContain(
      'apply confirmed by U0SRE during the freeze "end-of-year freeze" until 2100-01-01 00:00 UTC (override: hotfix for the payment outage)',
    );
    expect((await cli('status', runId)).out).toContain(
      'freeze:    “end-of-year freeze”: overridden by U0SRE at',
    );
  });
});
