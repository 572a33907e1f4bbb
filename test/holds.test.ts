// Freeze windows and ad hoc locks in the core, over real PostgreSQL: a freeze
// refuses the apply with its reason and end, someone in override.from confirms
// with a written reason (stored, shown, audited); a lock refuses until
// unlocked; who may lock is the core's check; bad windows are config errors
// naming their path.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../src/core/api/types.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { ConfigError, isRefusal, type Refusal } from '../src/core/errors.ts';
import { activeFreeze } from '../src/core/policy/holds-view.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

// The frozen deployment's window is always in force; `open` has none.
const CONFIG = `
timezone: Europe/Berlin
freeze:
  - { start: 2000-01-01T00:00, end: 2100-01-01T00:00, reason: "the big migration", deployments: [frozen] }
deployments:
  - name: frozen
    environment: production
    approvers: [U0APPROVER, U0SRE]
    override: { from: [U0SRE] }
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
  - name: open
    environment: staging
    approvers: [U0APPROVER]
    locks: { from: [U0LOCKER] }
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }
`;
const FILES = {
  'app/plan.sh': `echo '{"changes":[{"address":"app.release","action":"update"}]}' > "$DEPLOY_PLAN_FILE"`,
  'app/apply.sh': 'echo applied',
};
const SRE: Actor = { id: 'U0SRE', via: 'cli' };
const LOCKER: Actor = { id: 'U0LOCKER', via: 'cli' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
});
afterAll(async () => {
  await h?.close();
});

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isRefusal(error)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

async function awaitingApply(deployment: string) {
  const requested = await h.core.requestRun({ deployment, actor: REQUESTER });
  const run = await h.waitFor(requested.id, 'awaiting_plan_approval');
  await h.core.approvePlan(run.id, APPROVER, { planId: run.plan!.id });
  return run;
}

describe('freeze windows', () => {
  it('refuse the apply with the reason and the end; override.from confirms with a reason, stored, shown and audited', async () => {
    const run = await awaitingApply('frozen');
    const seen = await h.core.getRunFor(run.id, APPROVER);
    expect(seen.policy?.freeze).toMatchObject({
      reason: 'the big migration',
      endsAt: '2099-12-31T23:00:00.000Z',
      overrideFrom: ['U0SRE'],
      overridden: null,
      canOverride: false,
    });
    // Held: the approver may not confirm; the SRE may (with a reason).
    expect(seen.allowed).toEqual(['cancel']);
    const sre = await h.core.getRunFor(run.id, SRE);
    expect(sre.allowed).toEqual(['confirm_apply', 'cancel']);
    expect(sre.policy?.freeze?.canOverride).toBe(true);

    const refused = await refusalOf(h.core.confirmApply(run.id, APPROVER));
    expect(refused.code).toBe('frozen');
    expect(refused.message).toBe(
      'frozen is frozen until 2099-12-31 23:00 UTC ("the big migration"): only U0SRE may override it, with a written reason',
    );
    expect(refused.details).toMatchObject({
      reason: 'the big migration',
      endsAt: '2099-12-31T23:00:00.000Z',
      overrideFrom: ['U0SRE'],
    });
    // A reason from someone not in override.from changes nothing.
    expect(
      (await refusalOf(h.core.confirmApply(run.id, APPROVER, { overrideReason: 'please' }))).code,
    ).toBe('frozen');
    // The SRE without a reason is told to give one.
    const noReason = await refusalOf(h.core.confirmApply(run.id, SRE, { overrideReason: '  ' }));
    expect(noReason.message).toContain(
      'you may override the freeze: confirm again with a written reason',
    );
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_apply_approval');

    const applied = await h.core.confirmApply(run.id, SRE, {
      overrideReason: 'security fix CVE-2026-1',
    });
    expect(applied.status).toBe('applying');
    const done = await h.waitFor(run.id, 'completed');
    expect(done.approvals.find((a) => a.stage === 'apply')?.overrideReason).toBe(
      'security fix CVE-2026-1',
    );
    expect(done.policy?.freeze).toMatchObject({
      reason: 'the big migration',
      overridden: { by: 'U0SRE', reason: 'security fix CVE-2026-1' },
    });
    const audit = await h.core.transitions(run.id);
    expect(audit.find((t) => t.to === 'applying')?.reason).toBe(
      'apply confirmed by U0SRE during the freeze "the big migration" until 2099-12-31 23:00 UTC (override: security fix CVE-2026-1)',
    );
  });

  it('a deployment the window does not cover applies as before', async () => {
    const run = await awaitingApply('open');
    expect((await h.core.getRun(run.id)).policy).toMatchObject({ freeze: null, locks: [] });
    await h.core.confirmApply(run.id, APPROVER);
    await h.waitFor(run.id, 'completed');
  });
});

describe('locks', () => {
  it('who may lock is checked; a lock refuses the apply, is shown on the run, and unlock lets it through', async () => {
    const run = await awaitingApply('open');
    // The approver is not in locks.from of `open`.
    const notAllowed = await refusalOf(
      h.core.lock({ scope: 'deployment', target: 'open' }, APPROVER, 'nope'),
    );
    expect(notAllowed.code).toBe('lock_not_allowed');
    expect(notAllowed.message).toBe('you may not lock open: who may is U0LOCKER (locks.from)');
    expect(
      (await refusalOf(h.core.lock({ scope: 'deployment', target: 'open' }, LOCKER, ' '))).code,
    ).toBe('reason_required');
    // An environment lock needs leave for every deployment in it.
    expect(
      (await refusalOf(h.core.lock({ scope: 'all', target: null }, LOCKER, 'all of it'))).code,
    ).toBe('lock_not_allowed');

    const lock = await h.core.lock(
      { scope: 'environment', target: 'staging' },
      LOCKER,
      'db failover',
    );
    expect(lock).toMatchObject({ scope: 'environment', target: 'staging', by: 'U0LOCKER' });
    expect(
      (await refusalOf(h.core.lock({ scope: 'environment', target: 'staging' }, LOCKER, 'again')))
        .code,
    ).toBe('already_locked');
    const held = await h.core.getRunFor(run.id, APPROVER);
    expect(held.policy?.locks).toEqual([lock]);
    expect(held.allowed).toEqual(['cancel']);
    expect(await h.core.listLocks()).toEqual([lock]);

    const refused = await refusalOf(h.core.confirmApply(run.id, APPROVER));
    expect(refused.code).toBe('locked');
    expect(refused.details).toMatchObject({
      lockId: lock.id,
      scope: 'environment',
      target: 'staging',
      reason: 'db failover',
      by: 'U0LOCKER',
    });
    expect(refused.message).toMatch(
      /^open is locked: U0LOCKER locked the environment staging at .* \("db failover"\)/,
    );

    expect(
      (await refusalOf(h.core.unlock({ scope: 'environment', target: 'staging' }, APPROVER))).code,
    ).toBe('lock_not_allowed');
    await h.core.unlock({ scope: 'environment', target: 'staging' }, LOCKER);
    expect(await h.core.listLocks()).toEqual([]);
    expect(
      (await refusalOf(h.core.unlock({ scope: 'environment', target: 'staging' }, LOCKER))).code,
    ).toBe('not_locked');
    await h.core.confirmApply(run.id, APPROVER);
    await h.waitFor(run.id, 'completed');
  });
});

describe('freeze config', () => {
  const base = `
deployments:
  - name: web
    environment: production
    approvers: [U0APPROVER]
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
`;
  function problemsOf(text: string): string[] {
    try {
      parseConfig(text, '/tmp/deploy.config.yaml');
    } catch (error) {
      if (error instanceof ConfigError) return [...error.problems];
      throw error;
    }
    return [];
  }

  it('a bad window is an error naming its path', () => {
    expect(
      problemsOf(`freeze:\n  - { cron: "0 25 * * 5", duration: 66h, reason: weekend }\n${base}`),
    ).toEqual([
      expect.stringMatching(
        /^deploy\.config\.yaml: freeze\[0\]\.cron: "0 25 \* \* 5" is not a cron expression: /,
      ),
    ]);
    expect(
      problemsOf(
        `${base}    freeze:\n      - { start: 2026-12-24, end: 2026-12-20, reason: holidays }\n`,
      ),
    ).toEqual(['deploy.config.yaml: deployments[0].freeze[0].end: end must be after start']);
    expect(
      problemsOf(
        `freeze:\n  - { cron: "0 15 * * 5", reason: weekend, environments: [prod], deployments: [wbe] }\n${base}`,
      ),
    ).toEqual([
      'deploy.config.yaml: freeze[0].duration: a cron window needs a duration (e.g. duration: 66h)',
      'deploy.config.yaml: freeze[0].deployments[0]: there is no deployment "wbe": did you mean web? (deployments: web)',
      'deploy.config.yaml: freeze[0].environments[0]: no deployment has the environment "prod" (environments: production)',
    ]);
    expect(problemsOf(`timezone: Mars/Base\n${base}`)).toEqual([
      'deploy.config.yaml: timezone: expected an IANA time zone such as UTC, Europe/Berlin or America/New_York',
    ]);
  });

  it('each deployment carries the windows that cover it, in their time zones', () => {
    const loaded = parseConfig(
      `timezone: Europe/Berlin\nfreeze:\n  - { cron: "0 15 * * 5", duration: 66h, reason: weekend, environments: [production] }\n  - { start: 2026-12-24, end: 2026-12-27, timezone: UTC, reason: holidays }\n${base}`,
      '/tmp/deploy.config.yaml',
    );
    expect(loaded.deployments.get('web')?.freeze).toEqual([
      { cron: '0 15 * * 5', duration: '66h', reason: 'weekend', timezone: 'Europe/Berlin' },
      { start: '2026-12-24', end: '2026-12-27', reason: 'holidays', timezone: 'UTC' },
    ]);
  });

  it('the README example: recurring, one-off and per-deployment windows, in their time zones', () => {
    const loaded = parseConfig(
      `timezone: Europe/Berlin
freeze:
  - { cron: "0 15 * * 5", duration: 66h, reason: "weekend", environments: [production] }
  - { start: 2026-12-24T00:00, end: 2026-12-27T00:00, reason: "holidays" }
deployments:
  - name: web-prod
    environment: production
    approvers: [U0ALICE, S0SRE]
    freeze:
      - { start: "0 22 * * *", end: "0 6 * * *", timezone: UTC, reason: "nightly batch" }
    override: { from: [S0SRE] }
    locks: { from: [S0SRE, U0LEAD] }
    source: { kind: directory, path: ./app }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
`,
      '/tmp/deploy.config.yaml',
    );
    const web = loaded.deployments.get('web-prod')!;
    const at = (iso: string) => activeFreeze(web, new Date(iso));
    // Friday 15:00 Berlin for 66 hours: until Monday 09:00 Berlin.
    expect(at('2026-12-04T13:59:00Z')).toBeNull();
    expect(at('2026-12-04T14:00:00Z')).toEqual({
      reason: 'weekend',
      endsAt: new Date('2026-12-07T08:00:00Z'),
    });
    expect(at('2026-12-07T08:00:00Z')).toBeNull();
    expect(at('2026-12-08T23:00:00Z')).toEqual({
      reason: 'nightly batch',
      endsAt: new Date('2026-12-09T06:00:00Z'),
    });
    expect(at('2026-12-25T12:00:00Z')?.reason).toBe('holidays');
  });
});
