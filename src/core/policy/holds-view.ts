// The run view's part of the holds (pure): the freeze in force for a run, from
// the windows of its config, and the locks that hold it. The store builds run
// views with it; src/core/policy/holds.ts checks decisions with the same.

import type { ApprovalView, DeploymentView, FreezeView, HoldsView } from '../api/types.ts';
import { compileWindow, isWindowProblem } from '../config/freeze-schema.ts';
import type { Deployment } from '../config/load.ts';
import { BEFORE_APPLY_STATUSES, type RunStatus } from '../lifecycle/statuses.ts';
import { holds, type LockRow, lockView } from '../store/locks.ts';
import type { ActiveFreeze, Freeze } from './freeze.ts';

export type Holdable = {
  readonly deployment: string;
  readonly environment: string;
  readonly config: unknown;
};

type Compiled = {
  readonly windows: readonly Freeze[];
  /** The last answer, for its second: a page of runs under one config asks once. */
  last: { readonly second: number; readonly value: ActiveFreeze | null } | null;
};

// Windows were checked at load; compiled once per distinct list.
const compiled = new Map<string, Compiled>();

function compiledOf(deployment: Deployment): Compiled | null {
  const windows = deployment.freeze ?? [];
  if (windows.length === 0) return null;
  const key = JSON.stringify(windows);
  let found = compiled.get(key);
  if (!found) {
    found = {
      windows: windows
        .map((w) => compileWindow(w, w.timezone ?? 'UTC'))
        .filter((f): f is Freeze => !isWindowProblem(f)),
      last: null,
    };
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, found);
  }
  return found;
}

/**
 * The freeze in force for a deployment at `at`: the window that ends last, or
 * null. Cron arithmetic in a time zone costs about half a millisecond per
 * window, so the answer is kept for the second it was asked for.
 */
export function activeFreeze(deployment: Deployment, at: Date): ActiveFreeze | null {
  const found = compiledOf(deployment);
  if (!found) return null;
  const second = Math.floor(at.getTime() / 1000);
  if (found.last?.second === second) return found.last.value;
  let latest: ActiveFreeze | null = null;
  for (const window of found.windows) {
    const active = window.activeAt(at);
    if (active && (!latest || active.endsAt > latest.endsAt)) latest = active;
  }
  found.last = { second, value: latest };
  return latest;
}

/**
 * The run view's holds: the freeze in force (before the apply), or the one
 * its apply overrode; the locks in force that hold it (before the apply).
 */
export function holdsView(
  run: Holdable & { readonly status: RunStatus },
  approvalViews: readonly ApprovalView[],
  lockRows: readonly LockRow[],
  now: Date,
): HoldsView {
  const deployment = run.config as Deployment;
  const ahead = BEFORE_APPLY_STATUSES.includes(run.status);
  const overridden = approvalViews.find(
    (a) => a.stage === 'apply' && a.overrideReason != null && a.overrideReason !== '',
  );
  const at = overridden ? new Date(overridden.at) : ahead ? now : null;
  const active = at ? activeFreeze(deployment, at) : null;
  const freeze: FreezeView | null =
    active || overridden
      ? {
          reason: active?.reason ?? 'freeze',
          endsAt: (active?.endsAt ?? new Date(overridden?.at ?? now)).toISOString(),
          overrideFrom: deployment.override?.from ?? [],
          overridden: overridden
            ? { by: overridden.by, reason: overridden.overrideReason ?? '', at: overridden.at }
            : null,
        }
      : null;
  return {
    freeze,
    locks: ahead ? lockRows.filter((l) => holds(l, run)).map(lockView) : [],
  };
}

/** What holds a deployment now: the freeze in force and the locks on it. */
export function deploymentHolds(
  deployment: Deployment,
  lockRows: readonly LockRow[],
  now: Date,
): Pick<DeploymentView['state'], 'freeze' | 'locks'> {
  const active = activeFreeze(deployment, now);
  return {
    freeze: active ? { reason: active.reason, endsAt: active.endsAt.toISOString() } : null,
    locks: lockRows
      .filter((l) => holds(l, { deployment: deployment.name, environment: deployment.environment }))
      .map(lockView),
  };
}
