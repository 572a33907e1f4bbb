// Rules on the run and its plan: the `rules:` config (checked at load, errors
// naming file, path, rule and column) and evaluateRules (pure).

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/core/config/load.ts';
import { ConfigError } from '../src/core/errors.ts';
import {
  compileRules,
  conditionInputOf,
  evaluateRules,
  mergedResults,
  NO_RULES,
  type RunFacts,
} from '../src/core/policy/rules.ts';
import { viewInstant } from '../src/core/policy/run-policy.ts';

const FILE = '/etc/deploy/deploy.config.yaml';

const config = (rules: string, top = '') => `${top}
deployments:
  - name: web-prod
    environment: production
    approvers: [U0ALICE, U0BOB, S0SRE]
    source: { kind: directory, path: ./x }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
    rules:
${rules}`;

function problemsOf(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the config to be refused');
}

function rulesOf(text: string) {
  const loaded = parseConfig(text, FILE);
  return compileRules(loaded.deployments.get('web-prod')?.appliedRules);
}

const facts: RunFacts = {
  deployment: 'web-prod',
  environment: 'production',
  kind: 'execute',
  requestedBy: 'U0REQ',
  requestedVia: 'slack',
  variables: { image_tag: '1.4.2' },
  plan: {
    known: true,
    add: 1,
    change: 0,
    destroy: 2,
    changes: [{ address: 'aws_db_instance.main', action: 'delete' }],
  },
  approvals: [],
  timezone: 'Europe/Berlin',
};
// A Friday, 16:30 in Berlin.
const FRIDAY_AFTERNOON = new Date('2026-12-04T15:30:00Z');

const ISSUE_RULES = `      - name: destroys-need-security
        when: 'run.plan.destroy > 0 || run.kind == "destroy"'
        require: { plan: { count: 1, from: [S0SECURITY] } }
      - name: no-friday-prod
        when: 'deployment.environment == "production" && now.weekday == "Friday" && now.hour >= 15'
        deny: "no production deploys after 15:00 on Fridays"
        mode: enforce`;

describe('rules in the config', () => {
  it('loads the issue’s example with defaults resolved and where each rule is written', () => {
    const loaded = parseConfig(
      config(
        ISSUE_RULES,
        `timezone: Europe/Berlin
rules:
  - { name: big-changes, when: 'run.plan.change > 20', require: { apply: [{ count: 2 }] }, mode: warn }`,
      ),
      FILE,
    );
    const d = loaded.deployments.get('web-prod');
    expect(d?.timezone).toBe('Europe/Berlin');
    expect(d?.appliedRules?.map((r) => [r.name, r.path, r.mode, r.effect])).toEqual([
      ['big-changes', 'rules[0]', 'warn', 'require'],
      ['destroys-need-security', 'deployments[0].rules[0]', 'enforce', 'require'],
      ['no-friday-prod', 'deployments[0].rules[1]', 'enforce', 'deny'],
    ]);
    // `from` defaults to the deployment's approvers, notRequester to !allowSelfApproval.
    expect(d?.appliedRules?.[0]?.require.apply).toEqual([
      {
        count: 2,
        from: ['U0ALICE', 'U0BOB', 'S0SRE'],
        notRequester: true,
        notPlanApprovers: false,
        rule: 'big-changes',
      },
    ]);
    expect(d?.appliedRules?.[2]?.message).toBe('no production deploys after 15:00 on Fridays');
  });

  it('defaults the time zone to UTC and rules to none', () => {
    const loaded = parseConfig(config('      []'), FILE);
    expect(loaded.deployments.get('web-prod')?.timezone).toBe('UTC');
    expect(loaded.deployments.get('web-prod')?.appliedRules).toEqual([]);
  });

  it('names file, path, rule and column of a typo in a condition', () => {
    const problems = problemsOf(
      config(`      - name: destroys-need-security
        when: 'run.plan.destory > 0'
        require: { plan: { count: 1, from: [S0SECURITY] } }`),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^deploy\.config\.yaml: deployments\[0\]\.rules\[0\]\.when: rule "destroys-need-security", column 10: No such key: destory/,
    );
    // The expression with a caret under the column.
    expect(problems[0]).toContain('run.plan.destory > 0\n               ^');
  });

  it('refuses a type error and a condition that is not true or false, at their columns', () => {
    const problems = problemsOf(
      config(`      - { name: late, when: 'now.hour >= "15"', deny: "too late" }
      - { name: count, when: 'run.plan.destroy', deny: "x" }`),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /deployments\[0\]\.rules\[0\]\.when: rule "late", column 1: no such overload: int >= string/,
      ),
      expect.stringMatching(
        /deployments\[0\]\.rules\[1\]\.when: rule "count", column 1: a condition must be true or false, this one is a double/,
      ),
    ]);
  });

  it('checks top-level rules with their own path', () => {
    const problems = problemsOf(
      config('      []', `rules:\n  - { name: oops, when: 'run.kind = "destroy"', deny: "x" }`),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^deploy\.config\.yaml: rules\[0\]\.when: rule "oops", column \d+:/),
    ]);
  });

  it('refuses duplicate names, counting the top-level ones', () => {
    const problems = problemsOf(
      config(
        `      - { name: dup, when: 'true', deny: "a" }
      - { name: dup, when: 'true', deny: "b" }
      - { name: shared, when: 'true', deny: "c" }`,
        `rules:
  - { name: shared, when: 'true', deny: "top" }`,
      ),
    );
    expect(problems).toEqual([
      expect.stringContaining(
        'deployments[0].rules[1].name: rule name "dup" is used twice (also deployments[0].rules[0])',
      ),
      expect.stringContaining(
        'deployments[0].rules[2].name: rule name "shared" is used twice (also rules[0])',
      ),
    ]);
  });

  it('refuses neither or both effects, bad modes and time zones', () => {
    const problems = problemsOf(
      config(
        `      - { name: both, when: 'true', deny: "d", require: { plan: { count: 1 } } }
      - { name: neither, when: 'true' }
      - { name: moded, when: 'true', deny: "e", mode: audit }`,
        'timezone: Mars/Olympus',
      ),
    ).join('\n');
    expect(problems).toContain('rule "both": give either require');
    expect(problems).toContain('rule "neither": give either require');
    expect(problems).toContain('deployments[0].rules[2].mode: expected enforce, warn or dry-run');
    expect(problems).toContain('timezone: expected an IANA time zone');
  });

  it('refuses a count that the listed users cannot give, and notPlanApprovers on a plan entry', () => {
    const problems = problemsOf(
      config(`      - { name: three, when: 'true', require: { plan: { count: 3, from: [U0ALICE, U0BOB] } } }
      - { name: fourEyes, when: 'true', require: { plan: { notPlanApprovers: true } } }`),
    );
    expect(problems.sort()).toEqual([
      expect.stringContaining(
        'deployments[0].rules[0].require.plan[0].count: rule "three": count 3 cannot be met: from lists only 2 people (U0ALICE, U0BOB)',
      ),
      expect.stringContaining(
        'deployments[0].rules[1].require.plan[0].notPlanApprovers: rule "fourEyes": notPlanApprovers applies to the apply only',
      ),
    ]);
  });
});

describe('when a run view evaluates the rules', () => {
  const now = new Date('2026-12-06T10:00:00Z');
  const since = new Date('2026-12-04T16:00:00Z');
  it('now while the run waits for a decision', () => {
    const waiting = { status: 'awaiting_apply_approval', statusSince: since } as const;
    expect(viewInstant(waiting, [{ at: '2026-12-04T15:00:00Z' }], now)).toEqual(now);
  });
  it('at the last decision once it moved on, so a finished run shows what the rules said then', () => {
    const done = { status: 'completed', statusSince: since } as const;
    expect(
      viewInstant(done, [{ at: '2026-12-04T14:00:00Z' }, { at: '2026-12-04T15:30:00Z' }], now),
    ).toEqual(new Date('2026-12-04T15:30:00Z'));
    expect(viewInstant({ status: 'cancelled', statusSince: since }, [], now)).toEqual(since);
  });
});

describe('evaluateRules', () => {
  it('a matched destroy rule adds its entry; a matched enforce deny denies with its sentence', () => {
    const outcome = evaluateRules(
      rulesOf(config(ISSUE_RULES, 'timezone: Europe/Berlin')),
      conditionInputOf(facts, FRIDAY_AFTERNOON),
    );
    expect(outcome.require.plan).toEqual([
      {
        count: 1,
        from: ['S0SECURITY'],
        notRequester: true,
        notPlanApprovers: false,
        rule: 'destroys-need-security',
      },
    ]);
    expect(outcome.require.apply).toEqual([]);
    expect(outcome.denials).toEqual([
      {
        rule: 'no-friday-prod',
        message: 'no production deploys after 15:00 on Fridays',
        failed: false,
      },
    ]);
    expect(outcome.results.map((r) => [r.name, r.matched, r.error])).toEqual([
      ['destroys-need-security', true, null],
      ['no-friday-prod', true, null],
    ]);
  });

  it('reads now in the config’s time zone', () => {
    const rules = rulesOf(config(ISSUE_RULES, 'timezone: America/New_York'));
    // 10:30 in New York: before 15:00, so no denial.
    expect(
      evaluateRules(
        rules,
        conditionInputOf({ ...facts, timezone: 'America/New_York' }, FRIDAY_AFTERNOON),
      ).denials,
    ).toEqual([]);
  });

  it('warn and dry-run rules report but neither deny nor require', () => {
    const rules = rulesOf(
      config(`      - { name: w, when: 'true', deny: "careful", mode: warn }
      - { name: d, when: 'run.plan.destroy > 0', require: { plan: { count: 1, from: [S0SEC] } }, mode: dry-run }
      - { name: quiet, when: 'false', deny: "never" }`),
    );
    const outcome = evaluateRules(rules, conditionInputOf(facts, FRIDAY_AFTERNOON));
    expect(outcome.denials).toEqual([]);
    expect(outcome.require).toEqual({ plan: [], apply: [] });
    expect(outcome.results).toEqual([
      { name: 'w', mode: 'warn', effect: 'deny', matched: true, message: 'careful', error: null },
      { name: 'd', mode: 'dry-run', effect: 'require', matched: true, message: null, error: null },
      {
        name: 'quiet',
        mode: 'enforce',
        effect: 'deny',
        matched: false,
        message: 'never',
        error: null,
      },
    ]);
  });

  it('fails closed: an enforce rule whose condition fails at run time denies with its name and the error', () => {
    const rules = rulesOf(
      config(`      - { name: replicas, when: 'run.variables.replicas > 3', require: { apply: { count: 2 } } }
      - { name: replicas-warn, when: 'run.variables.replicas > 3', deny: "x", mode: warn }`),
    );
    const outcome = evaluateRules(rules, conditionInputOf(facts, FRIDAY_AFTERNOON));
    expect(outcome.denials).toEqual([
      { rule: 'replicas', message: expect.stringContaining('No such key: replicas'), failed: true },
    ]);
    expect(outcome.results[1]).toMatchObject({
      name: 'replicas-warn',
      matched: false,
      error: expect.stringContaining('No such key'),
    });
    expect(outcome.require).toEqual({ plan: [], apply: [] });
  });

  it('sees changes by address and action, approvals so far and no plan before there is one', () => {
    const rules = rulesOf(
      config(`      - { name: db, when: 'run.plan.changes.exists(c, c.action == "delete" && c.address.startsWith("aws_db"))', deny: "db" }
      - { name: approved-by-bob, when: 'approvals.exists(a, a.by == "U0BOB")', deny: "bob" }
      - { name: unplanned, when: '!run.plan.known', deny: "unknown" }`),
    );
    const withBob = evaluateRules(
      rules,
      conditionInputOf(
        { ...facts, approvals: [{ stage: 'plan', actor: 'U0BOB' }] },
        FRIDAY_AFTERNOON,
      ),
    );
    expect(withBob.denials.map((d) => d.rule)).toEqual(['db', 'approved-by-bob']);
    const noPlan = evaluateRules(
      rules,
      conditionInputOf({ ...facts, plan: null }, FRIDAY_AFTERNOON),
    );
    expect(noPlan.denials.map((d) => d.rule)).toEqual(['unplanned']);
  });

  it('given the plan’s verdict, evaluates only the rules that read now or approvals', () => {
    const rules = rulesOf(
      config(`${ISSUE_RULES}
      - name: second-approver-watch
        when: 'approvals.exists(a, a.stage == "plan")'
        deny: "a second look"
        mode: warn`),
    );
    expect(rules.map((r) => [r.name, r.readsDecisionFacts])).toEqual([
      ['destroys-need-security', false],
      ['no-friday-prod', true],
      ['second-approver-watch', true],
    ]);
    // On a Friday afternoon with a destroy: all three would say something.
    const input = conditionInputOf(
      { ...facts, approvals: [{ stage: 'plan', actor: 'U0ALICE' }] },
      FRIDAY_AFTERNOON,
    );
    const fresh = evaluateRules(rules, input);
    expect(fresh.results.map((r) => [r.name, r.matched])).toEqual([
      ['destroys-need-security', true],
      ['no-friday-prod', true],
      ['second-approver-watch', true],
    ]);
    // The plan's verdict said the destroy rule did not match (a plan without
    // destroys): that answer stands, the two others are evaluated again.
    const verdict = { evaluated: 3, rules: [] };
    const reused = evaluateRules(rules, input, verdict);
    expect(reused.results.map((r) => [r.name, r.matched])).toEqual([
      ['destroys-need-security', false],
      ['no-friday-prod', true],
      ['second-approver-watch', true],
    ]);
    expect(reused.require.plan).toEqual([]);
    expect(reused.denials.map((d) => d.rule)).toEqual(['no-friday-prod']);
    // A failure the plan's evaluation met is the decision's too (fail closed).
    const failed = evaluateRules(rules, input, {
      evaluated: 3,
      rules: [{ ...fresh.results[0]!, matched: false, error: 'No such key: replicas' }],
    });
    expect(failed.denials[0]).toEqual({
      rule: 'destroys-need-security',
      message: 'No such key: replicas',
      failed: true,
    });
    // What a decision keeps (the rules it evaluated) and the verdict read back whole, in rule order.
    expect(
      mergedResults(
        rules,
        reused.results.filter((r) => r.matched && r.name !== 'destroys-need-security'),
        { evaluated: 3, rules: fresh.results.slice(0, 2) },
      ).map((r) => [r.name, r.matched]),
    ).toEqual([
      ['destroys-need-security', true],
      ['no-friday-prod', true],
      ['second-approver-watch', true],
    ]);
    // A verdict on another set of rules is not used: everything is evaluated.
    expect(evaluateRules(rules, input, { evaluated: 2, rules: [] })).toEqual(fresh);
    // No rule needs the input: it is never built.
    const onlyStatic = rules.slice(0, 1);
    let built = 0;
    const lazy = () => {
      built++;
      return input;
    };
    evaluateRules(onlyStatic, lazy, { evaluated: 1, rules: [] });
    expect(built).toBe(0);
    evaluateRules(onlyStatic, lazy);
    expect(built).toBe(1);
  });

  it('no rules: the shared empty outcome', () => {
    expect(evaluateRules([], conditionInputOf(facts, FRIDAY_AFTERNOON))).toBe(NO_RULES);
    expect(compileRules(undefined)).toEqual([]);
  });
});
