// The pure parts of approval policies: CEL conditions and requirement matching.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConditionFailure,
  type ConditionInput,
  compileCondition,
  isConditionProblem,
  nowIn,
} from '../src/core/policy/condition.ts';
import { compileFreeze } from '../src/core/policy/freeze.ts';
import {
  type Approver,
  evaluateRequirements,
  type Requirement,
  singleApproval,
  wouldCount,
} from '../src/core/policy/requirements.ts';

const input: ConditionInput = {
  deployment: { name: 'web-prod', environment: 'production' },
  run: {
    kind: 'execute',
    requestedBy: 'U0REQ',
    via: 'slack',
    variables: { replicas: 5, image_tag: '1.4.2' },
    plan: {
      known: true,
      add: 1,
      change: 0,
      destroy: 2,
      changes: [{ address: 'aws_db_instance.main', action: 'delete' }],
    },
  },
  approvals: [{ stage: 'plan', by: 'U0A' }],
  now: nowIn(new Date('2026-12-04T14:30:00Z'), 'Europe/Berlin'),
};

function compiled(source: string) {
  const c = compileCondition(source);
  if (isConditionProblem(c)) throw new Error(`${source}: ${c.message} at ${c.column}`);
  return c;
}

describe('conditions', () => {
  it('evaluate the rules of the README against a run', () => {
    expect(compiled('run.plan.destroy > 0 || run.kind == "destroy"').evaluate(input)).toBe(true);
    expect(
      compiled(
        'deployment.environment == "production" && now.weekday == "Friday" && now.hour >= 15',
      ).evaluate(input),
    ).toBe(true);
    expect(
      compiled(
        'run.plan.changes.exists(c, c.action == "delete" && c.address.startsWith("aws_db"))',
      ).evaluate(input),
    ).toBe(true);
    expect(compiled('approvals.size() >= 2').evaluate(input)).toBe(false);
  });

  it('a typo or a type error is found when compiled, with its column', () => {
    expect(compileCondition('run.plan.destory > 0')).toEqual({
      column: 10,
      message: 'No such key: destory',
    });
    expect(compileCondition('run.plan.destroy > "x"')).toMatchObject({
      column: expect.any(Number),
    });
    expect(compileCondition('run.plan.destroy >')).toMatchObject({
      message: 'Unexpected token: EOF',
    });
    expect(compileCondition('1 + 2')).toEqual({
      column: 1,
      message: 'a condition must be true or false, this one is an int',
    });
  });

  it('a failure at run time throws a ConditionFailure (the caller denies)', () => {
    const c = compiled('run.variables.missing == "x"');
    expect(() => c.evaluate(input)).toThrow(ConditionFailure);
    expect(() => c.evaluate(input)).toThrow(/No such key: missing/);
  });

  it('now is the wall clock of the time zone', () => {
    expect(nowIn(new Date('2026-12-04T14:30:00Z'), 'Europe/Berlin')).toEqual({
      weekday: 'Friday',
      hour: 15,
      minute: 30,
      date: '2026-12-04',
    });
    expect(nowIn(new Date('2026-12-04T23:30:00Z'), 'Asia/Tokyo').weekday).toBe('Saturday');
  });
});

const person = (userId: string, ...groups: string[]): Approver => ({
  userId,
  groups: new Set(groups),
});
const req = (count: number, from: string[], extra: Partial<Requirement> = {}): Requirement => ({
  count,
  from,
  notRequester: true,
  notPlanApprovers: false,
  ...extra,
});
const ctx = { requester: 'U0REQ', planApprovers: new Set<string>() };

describe('requirements', () => {
  it('count distinct people from the listed users and groups', () => {
    const r = [req(2, ['S0SRE', 'U0LEAD'])];
    const one = evaluateRequirements(r, [person('U0A', 'S0SRE')], ctx);
    expect(one.satisfied).toBe(false);
    expect(one.entries[0]).toMatchObject({ satisfiedBy: ['U0A'], missing: 1 });
    const two = evaluateRequirements(r, [person('U0A', 'S0SRE'), person('U0LEAD')], ctx);
    expect(two.satisfied).toBe(true);
    expect(evaluateRequirements(r, [person('U0X')], ctx).surplus).toEqual(['U0X']);
  });

  it('one person in both groups counts once, and the matching never strands an entry', () => {
    const r = [req(1, ['S0SRE']), req(1, ['S0SEC'])];
    // A is in both; B only in SRE. A first must not take SRE for good.
    const state = evaluateRequirements(
      r,
      [person('U0A', 'S0SRE', 'S0SEC'), person('U0B', 'S0SRE')],
      ctx,
    );
    expect(state.satisfied).toBe(true);
    expect(state.entries.map((e) => e.satisfiedBy)).toEqual([['U0B'], ['U0A']]);
    expect(evaluateRequirements(r, [person('U0A', 'S0SRE', 'S0SEC')], ctx).satisfied).toBe(false);
  });

  it('notRequester and notPlanApprovers leave those people out', () => {
    expect(evaluateRequirements([req(1, ['U0REQ'])], [person('U0REQ')], ctx).satisfied).toBe(false);
    expect(
      evaluateRequirements([req(1, ['U0REQ'], { notRequester: false })], [person('U0REQ')], ctx)
        .satisfied,
    ).toBe(true);
    const apply = [req(1, ['S0ONCALL'], { notPlanApprovers: true })];
    const planApprovers = new Set(['U0A']);
    expect(
      evaluateRequirements(apply, [person('U0A', 'S0ONCALL')], { ...ctx, planApprovers }).satisfied,
    ).toBe(false);
  });

  it('wouldCount: a second approval from a full entry does not count', () => {
    const r = [req(1, ['S0SRE']), req(1, ['S0SEC'])];
    const so = [person('U0A', 'S0SRE')];
    expect(wouldCount(r, so, person('U0B', 'S0SRE'), ctx)).toBe(false);
    expect(wouldCount(r, so, person('U0C', 'S0SEC'), ctx)).toBe(true);
    expect(wouldCount(r, so, person('U0A', 'S0SRE', 'S0SEC'), ctx)).toBe(false);
  });

  it('the old approvers list is one approval, self-approval as configured', () => {
    expect(singleApproval(['U0A'], false)).toEqual(req(1, ['U0A']));
  });

  it('the matching counts as many people as any assignment could', () => {
    const groups = ['S1', 'S2', 'S3'];
    const arb = fc.record({
      counts: fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2)),
      people: fc.array(fc.subarray(groups), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(arb, ({ counts, people }) => {
        const r = groups.map((g, i) => req(counts[i] ?? 0, [g]));
        const approvers = people.map((gs, i) => person(`U${i}`, ...gs));
        const state = evaluateRequirements(r, approvers, ctx);
        const counted = state.entries.reduce((n, e) => n + e.satisfiedBy.length, 0);
        expect(counted + state.surplus.length).toBe(approvers.length);
        expect(counted).toBe(bruteForceBest(r, approvers));
      }),
    );
  });
});

/** The most approvals any assignment of people to entries can count. */
function bruteForceBest(r: Requirement[], approvers: Approver[]): number {
  const left = r.map((x) => x.count);
  const go = (i: number): number => {
    if (i === approvers.length) return 0;
    let best = go(i + 1);
    const a = approvers[i] as Approver;
    r.forEach((x, e) => {
      if ((left[e] ?? 0) > 0 && x.from.some((g) => a.groups.has(g))) {
        left[e] = (left[e] ?? 0) - 1;
        best = Math.max(best, 1 + go(i + 1));
        left[e] = (left[e] ?? 0) + 1;
      }
    });
    return best;
  };
  return go(0);
}

describe('freeze windows', () => {
  const weekend = compileFreeze({
    start: '0 15 * * 5',
    end: '0 7 * * 1',
    timezone: 'Europe/Berlin',
    reason: 'no production deploys over the weekend',
  });

  it('a recurring window is in force from its start to its end, in its time zone', () => {
    if (typeof weekend === 'string') throw new Error(weekend);
    // Friday 14:59 Berlin (13:59Z): not yet.
    expect(weekend.activeAt(new Date('2026-12-04T13:59:00Z'))).toBeNull();
    // Friday 15:00 Berlin: in force until Monday 07:00 Berlin (06:00Z).
    expect(weekend.activeAt(new Date('2026-12-04T14:00:00Z'))).toEqual({
      reason: 'no production deploys over the weekend',
      endsAt: new Date('2026-12-07T06:00:00Z'),
    });
    expect(weekend.activeAt(new Date('2026-12-06T12:00:00Z'))?.endsAt).toEqual(
      new Date('2026-12-07T06:00:00Z'),
    );
    expect(weekend.activeAt(new Date('2026-12-07T06:00:00Z'))).toBeNull();
    expect(weekend.activeAt(new Date('2026-12-09T12:00:00Z'))).toBeNull();
  });

  it('a one-off window between two local date-times', () => {
    const holidays = compileFreeze({
      start: '2026-12-24',
      end: '2027-01-02T09:00',
      timezone: 'America/New_York',
      reason: 'holidays',
    });
    if (typeof holidays === 'string') throw new Error(holidays);
    expect(holidays.activeAt(new Date('2026-12-24T04:59:00Z'))).toBeNull();
    expect(holidays.activeAt(new Date('2026-12-24T05:00:00Z'))?.endsAt).toEqual(
      new Date('2027-01-02T14:00:00Z'),
    );
    expect(holidays.activeAt(new Date('2027-01-02T14:00:00Z'))).toBeNull();
  });

  it('says what is wrong with a window', () => {
    const base = { start: '0 15 * * 5', end: '0 7 * * 1', timezone: 'UTC', reason: 'r' };
    expect(compileFreeze({ ...base, timezone: 'Mars/Base' })).toBe('unknown time zone "Mars/Base"');
    expect(compileFreeze({ ...base, start: '0 25 * * 5' })).toMatch(
      /^start: "0 25 \* \* 5" is not a cron expression: .*0-23/,
    );
    expect(compileFreeze({ ...base, end: 'friday' })).toMatch(/^end: "friday" is neither/);
    expect(compileFreeze({ ...base, end: '2026-12-24' })).toBe(
      'start and end must both be cron expressions or both dates',
    );
    expect(compileFreeze({ ...base, start: '2026-12-24', end: '2026-12-23' })).toBe(
      'end must be after start',
    );
  });
});
