import { describe, expect, it } from 'vitest';
import {
  decideTransition,
  RUN_KINDS,
  RUN_STATUSES,
  SLOT_STATUSES,
  STATUS_TABLE,
  TERMINAL_STATUSES,
} from '../src/core/lifecycle/statuses.ts';

describe('run status machine', () => {
  it('walks every (kind, from, to) and allows exactly the table entries', () => {
    for (const kind of RUN_KINDS) {
      for (const from of RUN_STATUSES) {
        for (const to of RUN_STATUSES) {
          const listed = STATUS_TABLE[from].next.includes(to);
          const kindOk = STATUS_TABLE[to].kind === undefined || STATUS_TABLE[to].kind === kind;
          const decision = decideTransition(kind, from, to);
          expect(decision.ok, `${kind}: ${from} -> ${to}`).toBe(listed && kindOk);
          if (!decision.ok) expect(decision.reason.length).toBeGreaterThan(0);
        }
      }
    }
  });

  it('has the execute and destroy paths of the spec', () => {
    const execute = [
      'queued',
      'pending',
      'initializing',
      'planning',
      'awaiting_plan_approval',
      'awaiting_apply_approval',
      'applying',
      'verifying',
      'completed',
    ] as const;
    for (let i = 1; i < execute.length; i++) {
      expect(decideTransition('execute', execute[i - 1]!, execute[i]!).ok).toBe(true);
    }
    expect(decideTransition('destroy', 'awaiting_apply_approval', 'destroying').ok).toBe(true);
    expect(decideTransition('destroy', 'destroying', 'destroyed').ok).toBe(true);
    expect(decideTransition('destroy', 'awaiting_apply_approval', 'applying').ok).toBe(false);
    expect(decideTransition('execute', 'awaiting_apply_approval', 'destroying').ok).toBe(false);
  });

  it('lets nothing leave a terminal status and every non-terminal status reach one', () => {
    for (const s of TERMINAL_STATUSES) expect(STATUS_TABLE[s].next).toEqual([]);
    for (const s of RUN_STATUSES) {
      const seen = new Set<string>([s]);
      const stack = [s as string];
      while (stack.length) {
        const cur = stack.pop() as (typeof RUN_STATUSES)[number];
        for (const n of STATUS_TABLE[cur].next) {
          if (!seen.has(n)) {
            seen.add(n);
            stack.push(n);
          }
        }
      }
      expect(
        [...seen].some((x) => (TERMINAL_STATUSES as string[]).includes(x)),
        s,
      ).toBe(true);
    }
  });

  it('refuses cancel once changes are in progress', () => {
    for (const s of ['applying', 'destroying', 'verifying', 'rolling_back'] as const) {
      expect(STATUS_TABLE[s].cancellable).toBe(false);
      expect(STATUS_TABLE[s].next).not.toContain('cancelled');
    }
    for (const s of [
      'queued',
      'pending',
      'initializing',
      'planning',
      'awaiting_plan_approval',
      'awaiting_apply_approval',
    ] as const) {
      expect(STATUS_TABLE[s].cancellable).toBe(true);
      expect(STATUS_TABLE[s].next).toContain('cancelled');
    }
  });

  it('holds the slot only while working, never while queued, waiting for a person, or finished', () => {
    expect(SLOT_STATUSES).not.toContain('queued');
    expect(SLOT_STATUSES).not.toContain('awaiting_plan_approval');
    for (const s of TERMINAL_STATUSES) expect(SLOT_STATUSES).not.toContain(s);
  });
});
