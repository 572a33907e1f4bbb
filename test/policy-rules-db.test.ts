// Rules over real PostgreSQL: evaluated when the plan is ready and at each
// decision in its transaction, refusing with the rule's name, failing closed,
// warn and dry-run only reported, each evaluation in the audit; and the
// administrator's `policy check` / `policy test RUN` on a stored run.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRefusal } from '../src/core/errors.ts';
import { pruneHistory } from '../src/core/retention/prune.ts';
import { DEFAULT_RETENTION } from '../src/core/retention/settings.ts';
import { startApiHarness } from './support/api-server.ts';
import { cli } from './support/cli.ts';
import { APPROVER, type Harness, REQUESTER, startHarness } from './support/harness.ts';

const DEPLOYMENT = `
  - name: web
    environment: production
    approvers: [U0APPROVER, U0SECOND]
    source: { kind: directory, path: ./app }
    variables:
      image_tag: { type: string, required: true }
      token: { type: string, sensitive: true, default: "rules-secret-token" }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }`;

const RULES = `
    rules:
      - name: destroys-need-security
        when: 'run.plan.destroy > 0 || run.kind == "destroy"'
        require: { plan: { count: 1, from: [U0SECURITY] } }
      - name: frozen-image
        when: 'run.variables.image_tag == "frozen"'
        deny: "image frozen: pick another tag"
      - name: release-candidates
        when: 'run.variables.image_tag.startsWith("rc")'
        deny: "release candidates should not reach production"
        mode: warn
      - name: creates-need-two
        when: 'run.plan.add > 0'
        require: { apply: { count: 2 } }
        mode: dry-run
      - name: broken
        when: 'run.variables.image_tag == "broken" && run.variables.replicas > 3'
        deny: "too many replicas"`;

const CONFIG = `timezone: Europe/Berlin
deployments:${DEPLOYMENT}${RULES}
`;

const FILES = {
  'app/plan.sh': `if [ "$DEPLOY_VAR_image_tag" = drop ]; then
  echo '{"changes":[{"address":"db.main","action":"delete"}]}' > "$DEPLOY_PLAN_FILE"
else
  echo '{"changes":[{"address":"web.app","action":"create"}]}' > "$DEPLOY_PLAN_FILE"
fi
`,
  'app/apply.sh': 'echo applied\n',
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: CONFIG, files: FILES });
  process.env.DATABASE_URL = h.db.url;
  process.env.DEPLOY_CONFIG = path.join(h.dir, 'deploy.config.yaml');
  process.env.DEPLOY_BOT_DATA_DIR = h.dataDir;
  delete process.env.DEPLOY_USER;
});
afterAll(async () => {
  await h?.close();
});

async function refusalOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isRefusal(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

async function planned(imageTag: string) {
  const run = await h.core.requestRun({
    deployment: 'web',
    variables: { image_tag: imageTag },
    actor: REQUESTER,
  });
  return h.waitFor(run.id, 'awaiting_plan_approval');
}

describe('rules at decisions', () => {
  it('a matched deny rule refuses the approval with its name and sentence, and the audit keeps it', async () => {
    const run = await planned('frozen');
    const refusal = await refusalOf(h.core.approvePlan(run.id, APPROVER));
    expect(refusal.code).toBe('rule_denied');
    expect(refusal.details).toEqual({
      rule: 'frozen-image',
      message: 'image frozen: pick another tag',
    });
    expect(refusal.message).toBe('refused by rule "frozen-image": image frozen: pick another tag');
    // Nothing decided: the run waits, no approval stored.
    const after = await h.core.getRun(run.id);
    expect(after.status).toBe('awaiting_plan_approval');
    expect(after.approvals).toEqual([]);

    const audit = await h.core.policyEvaluations(run.id);
    expect(audit).toEqual([
      expect.objectContaining({
        moment: 'plan_ready',
        actor: null,
        result: 'denied',
        evaluated: 5,
        configVersion: h.core.configVersion?.hash,
      }),
      expect.objectContaining({
        moment: 'approve_plan',
        actor: 'U0APPROVER',
        via: 'cli',
        result: 'denied',
        evaluated: 5,
        configVersion: h.core.configVersion?.hash,
      }),
    ]);
    // The rules matched: the deny and the dry-run (the plan adds one thing).
    expect(audit[1]?.rules.map((r) => [r.name, r.mode, r.matched])).toEqual([
      ['frozen-image', 'enforce', true],
      ['creates-need-two', 'dry-run', true],
    ]);
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it('warn and dry-run rules are recorded and shown, never block', async () => {
    const run = await planned('rc1');
    const approved = await h.core.approvePlan(run.id, APPROVER);
    expect(approved.status).toBe('awaiting_apply_approval');
    const applying = await h.core.confirmApply(run.id, { id: 'U0SECOND', via: 'cli' });
    expect(['applying', 'verifying', 'completed']).toContain(applying.status);
    await h.waitFor(run.id, 'completed');
    const audit = await h.core.policyEvaluations(run.id);
    expect(audit.map((e) => [e.moment, e.result])).toEqual([
      ['plan_ready', 'allowed'],
      ['approve_plan', 'allowed'],
      ['confirm_apply', 'allowed'],
    ]);
    expect(audit[1]?.rules.map((r) => `${r.name}:${r.mode}`)).toEqual([
      'release-candidates:warn',
      'creates-need-two:dry-run',
    ]);
    expect(audit.map((e) => e.actor)).toEqual([null, 'U0APPROVER', 'U0SECOND']);
    // The evaluations are kept on the plan's and the approvals' own rows: the
    // decisions wrote no row of their own.
    const [{ rows }] = (await h.core.connection.sql`
      select count(*)::int as rows from policy_evaluations where run_id = ${run.id}`) as [
      { rows: number },
    ];
    expect(rows).toBe(0);
    // In the audit, each decision's evaluation comes before the change it made.
    const json = JSON.parse((await cli('audit', run.id, '--json')).out) as {
      entry: string;
      moment?: string;
      to?: string;
    }[];
    const order = json.map((e) => (e.entry === 'policy' ? e.moment : e.to));
    expect(order.slice(order.indexOf('awaiting_plan_approval'))).toEqual([
      'awaiting_plan_approval',
      'plan_ready',
      'approve_plan',
      'awaiting_apply_approval',
      'confirm_apply',
      'applying',
      'completed',
    ]);
  });

  it('fails closed: an enforce rule whose condition fails refuses with the rule and the error', async () => {
    const run = await planned('broken');
    const refusal = await refusalOf(h.core.approvePlan(run.id, APPROVER));
    expect(refusal.code).toBe('rule_failed');
    expect(refusal.details).toEqual({
      rule: 'broken',
      error: expect.stringContaining('No such key: replicas'),
    });
    expect(refusal.message).toMatch(
      /^refused: the condition of rule "broken" failed \(No such key: replicas/,
    );
    const audit = await h.core.policyEvaluations(run.id);
    expect(audit.at(-1)).toMatchObject({ moment: 'approve_plan', result: 'failed' });
    expect(audit.at(-1)?.rules.find((r) => r.name === 'broken')?.error).toContain('No such key');
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_plan_approval');
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it('the CLI says which rule refused, and its audit shows each evaluation', async () => {
    const run = await planned('frozen');
    const approve = await cli('approve', run.id, '--as', 'U0APPROVER');
    expect(approve.code).toBe(1);
    expect(approve.err).toBe(
      'deploy-bot: refused by rule "frozen-image": image frozen: pick another tag (deploy-bot audit RUN lists each evaluation of the run\'s rules)',
    );
    const audit = await cli('audit', run.id);
    expect(audit.code).toBe(0);
    const lines = audit.out.split('\n');
    expect(
      lines.some((l) =>
        /policy: plan ready: DENIED; 5 rule\(s\) of config [0-9a-f]{12}; frozen-image \[enforce deny\], creates-need-two \[dry-run require\]$/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(lines.some((l) => /policy: approve plan by U0APPROVER \(cli\): DENIED;/.test(l))).toBe(
      true,
    );
    // The plan's evaluation comes right after "plan ready".
    const ready = lines.findIndex((l) => l.includes('→ awaiting_plan_approval'));
    expect(lines[ready + 1]).toContain('policy: plan ready');
    const json = JSON.parse((await cli('audit', run.id, '--json')).out) as { entry: string }[];
    expect(json[0]).toMatchObject({ entry: 'transition', to: 'queued' });
    expect(json.filter((e) => e.entry === 'policy')).toHaveLength(2);
    await h.core.cancelRun(run.id, REQUESTER);
  });
});

describe('rules adding approvals, and the run view', () => {
  it('a destroy rule adds its entry: the plan waits for the security approval after the approver’s', async () => {
    const run = await planned('drop');
    expect(run.policy?.plan.entries).toEqual([
      expect.objectContaining({ from: ['U0APPROVER', 'U0SECOND'], source: { kind: 'deployment' } }),
      expect.objectContaining({
        count: 1,
        from: ['U0SECURITY'],
        source: { kind: 'rule', rule: 'destroys-need-security' },
        missing: 1,
      }),
    ]);
    expect(run.policy?.rules.filter((r) => r.matched).map((r) => r.name)).toEqual([
      'destroys-need-security',
    ]);
    const first = await h.core.approvePlan(run.id, APPROVER);
    expect(first.status).toBe('awaiting_plan_approval');
    expect(first.policy?.plan.satisfied).toBe(false);
    const status = await cli('status', run.id);
    expect(status.out).toContain(
      'policy:    Plan approvals 1 of 2: still needs 1 from U0SECURITY (rule destroys-need-security)',
    );
    expect(status.out).toContain(
      'rules:     rule destroys-need-security requires more approvals (listed with its name)',
    );
    const second = await h.core.approvePlan(run.id, { id: 'U0SECURITY', via: 'cli' });
    expect(second.status).toBe('awaiting_apply_approval');
    expect(second.approvals.map((a) => [a.by, a.entry])).toEqual([
      ['U0APPROVER', 0],
      ['U0SECURITY', 1],
    ]);
    const audit = await h.core.policyEvaluations(run.id);
    expect(audit.map((e) => [e.moment, e.actor, e.result])).toEqual([
      ['plan_ready', null, 'allowed'],
      ['approve_plan', 'U0APPROVER', 'allowed'],
      ['approve_plan', 'U0SECURITY', 'allowed'],
    ]);
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it('a deny rule takes the decision out of allowed; the CLI and the view show why', async () => {
    const run = await planned('frozen');
    const read = await h.core.getRunFor(run.id, APPROVER);
    expect(read.allowed).toEqual(['cancel']);
    expect(await h.core.decisionsFor(run.id, APPROVER)).toEqual(['cancel']);
    const status = await cli('status', run.id, '--as', 'U0APPROVER');
    expect(status.out).toContain(
      'rules:     rule frozen-image refuses approvals: image frozen: pick another tag',
    );
    expect(status.out).toContain(
      'rules:     rule creates-need-two (dry-run, not enforced): would require more approvals',
    );
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it('a run’s row does not carry the rules: they come from its config version', async () => {
    const run = await planned('1.0.0');
    const [row] = await h.core.connection.sql`select config from runs where id = ${run.id}`;
    expect(JSON.stringify(row?.config)).not.toContain('frozen-image');
    expect(run.policy?.rules.map((r) => r.name)).toContain('frozen-image');
    await h.core.cancelRun(run.id, REQUESTER);
  });
});

describe('over the API', () => {
  it('a rule refusal is a 403 with its code and rule; the audit route carries the evaluations', async () => {
    const api = await startApiHarness(h);
    try {
      const run = await planned('frozen');
      const port = await api.port('U0APPROVER');
      const refusal = await refusalOf(port.approvePlan(run.id));
      expect(refusal.code).toBe('rule_denied');
      expect(refusal.details).toMatchObject({ rule: 'frozen-image' });
      const res = await fetch(`${api.url}/api/v1/runs/${run.id}/audit`, {
        headers: { authorization: `Bearer ${await api.token('U0APPROVER')}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        items: unknown[];
        evaluations: { moment: string; via: string; result: string }[];
      };
      expect(body.items.length).toBeGreaterThan(0);
      expect(body.evaluations.map((e) => [e.moment, e.via, e.result])).toEqual([
        ['plan_ready', null, 'denied'],
        ['approve_plan', 'cli', 'denied'],
      ]);
      expect((await port.policyAudit(run.id)).map((e) => e.moment)).toEqual([
        'plan_ready',
        'approve_plan',
      ]);
      await h.core.cancelRun(run.id, REQUESTER);
    } finally {
      await api.close();
    }
  });
});

describe('deploy-bot policy', () => {
  it('check: valid config lists each deployment’s rules', async () => {
    const r = await cli('policy', 'check');
    expect(r.code).toBe(0);
    expect(r.out).toContain('policies valid (time zone Europe/Berlin)');
    expect(r.out).toContain('web: 5 rule(s)');
    expect(r.out).toContain(
      'frozen-image (enforce, deployments[0].rules[1]): when run.variables.image_tag == "frozen" → deny "image frozen: pick another tag"',
    );
    expect(r.out).toContain(
      'creates-need-two (dry-run, deployments[0].rules[3]): when run.plan.add > 0 → require apply: 2 from U0APPROVER, U0SECOND, not the requester',
    );
  });

  it('check: a bad expression names file, path, rule and column; exit 2', async () => {
    const bad = path.join(h.dir, 'bad.config.yaml');
    writeFileSync(
      bad,
      `deployments:${DEPLOYMENT}
    rules:
      - name: destroys-need-security
        when: 'run.plan.destory > 0'
        require: { plan: { count: 1, from: [S0SECURITY] } }
`,
    );
    const r = await cli('policy', 'check', '--config', bad);
    expect(r.code).toBe(2);
    expect(r.out).toContain(`${bad}: 1 problem(s); a server would refuse to load it:`);
    expect(r.out).toContain(
      'bad.config.yaml: deployments[0].rules[0].when: rule "destroys-need-security", column 10: No such key: destory',
    );
  });

  it('check: warns about a condition on a variable the deployment lacks or keeps secret', async () => {
    const file = path.join(h.dir, 'warn.config.yaml');
    writeFileSync(
      file,
      `deployments:${DEPLOYMENT}
    rules:
      - { name: on-token, when: 'run.variables.token == "x"', deny: "no" }
      - { name: guarded, when: 'has(run.variables.replicas) && run.variables.replicas > 3', deny: "no" }
`,
    );
    const r = await cli('policy', 'check', '--config', file);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'warning: deployments[0].rules[0].when: rule "on-token" (web): "token" is sensitive, and sensitive values are never given to rules',
    );
    expect(r.out).not.toContain('rule "guarded"');
  });

  it('test: replays a stored run against the published rules and a proposed config', async () => {
    const run = await planned('rc2');
    await h.core.approvePlan(run.id, APPROVER);
    const published = await cli('policy', 'test', run.id);
    expect(published.code).toBe(0);
    expect(published.out).toContain(
      `config:    published version ${h.core.configVersion?.hash.slice(0, 12)}`,
    );
    expect(published.out).toContain('approvals: plan by U0APPROVER');
    expect(published.out).toMatch(
      /release-candidates +warn +deny +matched → warns, not enforced \(would refuse: release candidates/,
    );
    expect(published.out).toMatch(
      /creates-need-two +dry-run +require +matched → recorded only \(would require apply: 2 from U0APPROVER, U0SECOND, not the requester\)/,
    );
    expect(published.out).toContain('decision:  the rules allow a decision');

    const proposed = path.join(h.dir, 'proposed.config.yaml');
    writeFileSync(
      proposed,
      `timezone: Europe/Berlin
rules:
  - name: fridays
    when: 'now.weekday == "Friday" && now.hour >= 15'
    deny: "no deploys after 15:00 on Fridays"
deployments:${DEPLOYMENT}
    approvals:
      plan: { count: 2 }
    rules:
      - name: creates-need-security
        when: 'run.plan.add > 0'
        require: { apply: { count: 1, from: [S0SECURITY] } }
`,
    );
    // A Friday, 16:30 in Berlin.
    const r = await cli(
      'policy',
      'test',
      run.id,
      '--config',
      proposed,
      '--at',
      '2026-12-04T15:30:00Z',
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain(`config:    proposed ${proposed}`);
    expect(r.out).toContain('now:       Friday 2026-12-04 16:30 Europe/Berlin');
    expect(r.out).toContain(
      'decision:  refused by rule "fridays": no deploys after 15:00 on Fridays',
    );
    expect(r.out).toContain('plan:  2 from U0APPROVER, U0SECOND, not the requester  (deployment)');
    expect(r.out).toContain('apply: 1 from U0APPROVER, U0SECOND, not the requester  (deployment)');
    expect(r.out).toContain(
      '       1 from S0SECURITY, not the requester  (rule creates-need-security)',
    );
    const json = JSON.parse(
      (
        await cli(
          'policy',
          'test',
          run.id,
          '--config',
          proposed,
          '--at',
          '2026-12-07T09:00:00Z',
          '--json',
        )
      ).out,
    );
    expect(json.denials).toEqual([]);
    expect(json.requirements.apply).toHaveLength(2);
    expect(
      json.results.map((x: { name: string; matched: boolean }) => [x.name, x.matched]),
    ).toEqual([
      ['fridays', false],
      ['creates-need-security', true],
    ]);
    // Replaying changed nothing.
    expect((await h.core.getRun(run.id)).status).toBe('awaiting_apply_approval');
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it('test: a sensitive variable never reaches a rule, a plain one does', async () => {
    const run = await planned('1.2.3');
    const proposed = path.join(h.dir, 'sensitive.config.yaml');
    writeFileSync(
      proposed,
      `deployments:${DEPLOYMENT}
    rules:
      - { name: sees-token, when: 'has(run.variables.token)', deny: "x", mode: dry-run }
      - { name: sees-tag, when: 'has(run.variables.image_tag)', deny: "x", mode: dry-run }
`,
    );
    const json = JSON.parse(
      (await cli('policy', 'test', run.id, '--config', proposed, '--json')).out,
    ) as { results: { name: string; matched: boolean }[] };
    expect(json.results.map((r) => [r.name, r.matched])).toEqual([
      ['sees-token', false],
      ['sees-tag', true],
    ]);
    // The stored run has the token (a sensitive default), kept apart from the variables rules see.
    expect((await h.core.getRun(run.id)).variables.token).toBe('••••••');
    await h.core.cancelRun(run.id, REQUESTER);
  });

  it('test: an unknown run is a refusal; a subcommand is needed', async () => {
    expect(await cli('policy', 'test', 'run-nope')).toMatchObject({
      code: 1,
      err: expect.stringContaining('there is no run run-nope'),
    });
    expect(await cli('policy')).toMatchObject({
      code: 2,
      err: expect.stringContaining('policy needs a subcommand'),
    });
    expect((await cli('policy', '--help')).out).toMatch(/^Usage: deploy-bot policy check/);
    expect(await cli('policy', 'check', '--server', 'http://127.0.0.1:9')).toMatchObject({
      code: 2,
      err: expect.stringContaining('policy is an administrator’s command (local mode)'),
    });
  });
});

describe('retention', () => {
  it('retention.audit removes a finished run’s rule evaluations with its trail, and counts them', async () => {
    const run = await planned('frozen');
    await refusalOf(h.core.approvePlan(run.id, APPROVER));
    await h.core.cancelRun(run.id, REQUESTER);
    const evaluations = (await h.core.policyEvaluations(run.id)).length;
    const transitions = (await h.core.transitions(run.id)).length;
    expect(evaluations).toBe(2);
    const report = await pruneHistory(
      h.core.connection.sql,
      { ...DEFAULT_RETENTION, runLogs: null, planArtifacts: null, audit: 1 },
      { now: new Date(Date.now() + 60_000) },
    );
    expect(report.audit.entries).toBeGreaterThanOrEqual(evaluations + transitions);
    expect(await h.core.policyEvaluations(run.id)).toEqual([]);
    const [notice] = await h.core.transitions(run.id);
    expect(notice?.reason).toContain(`${evaluations + transitions} audit entries`);
  });
});
