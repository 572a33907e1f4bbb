// Runs held by a freeze or locks, for renderer and dashboard tests.

import type { FreezeView, HoldsView, LockView, RunView } from '../../src/core/api/types.ts';
import { makePlan, makeRun } from './run-fixtures.ts';

export const LOCK: LockView = {
  id: 'lock-1',
  scope: 'deployment',
  target: 'web-prod',
  reason: 'db failover',
  by: 'U0LEAD',
  via: 'slack',
  at: '2026-12-06T10:00:00.000Z',
};

export const FREEZE: FreezeView = {
  reason: 'weekend',
  endsAt: '2026-12-07T06:00:00.000Z',
  overrideFrom: ['S0SRE', 'U0ONCALL'],
  overridden: null,
};

const NO_STAGE = { satisfied: false, entries: [] };

/** A run waiting for its apply (unless `extra` says otherwise), held by `holds`. */
export function heldRun(holds: HoldsView, extra: Partial<RunView> = {}): RunView {
  return makeRun({
    status: 'awaiting_apply_approval',
    plan: makePlan(),
    policy: { plan: NO_STAGE, apply: NO_STAGE, rules: [], ...holds },
    ...extra,
  });
}
