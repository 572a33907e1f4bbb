// Holds: what keeps a run's apply (or destroy) back although its approvals
// hold. A freeze window of the run's config (its version's policy) refuses the
// confirmation with the reason and when it ends, unless someone in the
// deployment's `override.from` confirms with a written reason; an ad hoc lock
// (shared state in PostgreSQL) refuses it until someone unlocks. The core calls
// these from the confirm-apply transaction and when it says what a person may
// decide (`allowed`), so the two never disagree.

import type { Actor, GroupMembership, LockTarget, LockView } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { Refusal } from '../errors.ts';
import type { Decision } from '../lifecycle/decisions.ts';
import { checkIdentity, describeIds, isListed } from '../lifecycle/policy.ts';
import type { Db, Tx } from '../store/database.ts';
import {
  insertLock,
  type LockRow,
  liftLock,
  lockOn,
  locksHolding,
  locksInForce,
  lockView,
  touchHeldRuns,
} from '../store/locks.ts';
import { and, eq } from '../store/orm.ts';
import { approvals } from '../store/schema.ts';
import { cleanPersonText } from '../text/person-text.ts';
import type { ActiveFreeze } from './freeze.ts';
import { activeFreeze, type Holdable } from './holds-view.ts';
import { describeLockTarget, formatInstant } from './lock-target.ts';

function lockedRefusal(run: Holdable, lock: LockRow): Refusal {
  const view = lockView(lock);
  const what = lock.scope === 'deployment' ? run.deployment : describeLockTarget(view);
  return new Refusal(
    'locked',
    `${run.deployment} is locked: ${lock.lockedBy} locked ${what} at ${formatInstant(lock.createdAt)} ("${lock.reason}"). Nothing is applied or destroyed while it is locked; it must be unlocked first`,
    {
      lockId: view.id,
      scope: view.scope,
      target: view.target,
      reason: view.reason,
      by: view.by,
      at: view.at,
    },
  );
}

function frozenRefusal(
  deployment: Deployment,
  freeze: ActiveFreeze,
  canOverride: boolean,
  reasonMissing: boolean,
): Refusal {
  const from = deployment.override?.from ?? [];
  const how = canOverride
    ? reasonMissing
      ? 'you may override the freeze: confirm again with a written reason for doing so'
      : ''
    : from.length > 0
      ? `only ${describeIds(from)} may override it, with a written reason`
      : 'nobody may override it';
  return new Refusal(
    'frozen',
    `${deployment.name} is frozen until ${formatInstant(freeze.endsAt)} ("${freeze.reason}"): ${how}`,
    {
      reason: freeze.reason,
      endsAt: freeze.endsAt.toISOString(),
      overrideFrom: from,
      canOverride,
    },
  );
}

/** An apply confirmed during a freeze: the freeze and the reason given. */
export type Override = { readonly freeze: ActiveFreeze; readonly reason: string };

/**
 * The holds on confirming a run's apply, checked in the decision's transaction:
 * refuses with `locked` or `frozen`; returns the override when someone allowed
 * to confirmed during a freeze with a reason (to be recorded), else null.
 */
export async function checkHolds(
  tx: Tx,
  run: Holdable,
  actor: Actor,
  groups: GroupMembership | undefined,
  overrideReason: string | undefined,
  now = new Date(),
): Promise<Override | null> {
  const [lock] = await locksHolding(tx, run.deployment, run.environment);
  if (lock) throw lockedRefusal(run, lock);
  const deployment = run.config as Deployment;
  const freeze = activeFreeze(deployment, now);
  if (!freeze) return null;
  const may = await isListed(deployment.override?.from ?? [], actor.id, groups);
  const reason = cleanPersonText(overrideReason);
  if (!may || reason === null) throw frozenRefusal(deployment, freeze, may, reason === null);
  return { freeze, reason };
}

/** Stores the override with the apply approval (after it is inserted). */
export async function recordOverride(
  tx: Tx,
  runId: string,
  actor: Actor,
  override: Override | null,
): Promise<void> {
  if (!override) return;
  await tx
    .update(approvals)
    .set({ overrideReason: override.reason })
    .where(
      and(eq(approvals.runId, runId), eq(approvals.stage, 'apply'), eq(approvals.actor, actor.id)),
    );
}

/** The audit's words for an override: ` during the freeze "weekend" (override: reason)`. */
export function overrideAudit(override: Override | null): string {
  return override
    ? ` during the freeze "${override.freeze.reason}" until ${formatInstant(override.freeze.endsAt)} (override: ${override.reason})`
    : '';
}

/**
 * `allowed` under the holds: `confirm_apply` goes while a lock holds the run,
 * and during a freeze unless `actor` may override it (a reason then required).
 */
export async function withoutHeld(
  db: Db | Tx,
  run: Holdable,
  actor: Actor,
  groups: GroupMembership | undefined,
  allowed: Decision[],
  now = new Date(),
): Promise<Decision[]> {
  if (!allowed.includes('confirm_apply')) return allowed;
  const drop = () => allowed.filter((d) => d !== 'confirm_apply');
  const deployment = run.config as Deployment;
  const freeze = activeFreeze(deployment, now);
  if (freeze && !(await isListed(deployment.override?.from ?? [], actor.id, groups))) return drop();
  if ((await locksHolding(db, run.deployment, run.environment)).length > 0) return drop();
  return allowed;
}

/** Whether `actor` may override the run's freeze (the view's `canOverride`). */
export function mayOverride(
  run: Holdable,
  actor: Actor,
  groups: GroupMembership | undefined,
): Promise<boolean> {
  return isListed((run.config as Deployment).override?.from ?? [], actor.id, groups);
}

// ---- taking and lifting locks ---------------------------------------------------

/** The deployments a target covers in the current config; refuses an unknown one. */
function coveredBy(target: LockTarget, deployments: ReadonlyMap<string, Deployment>): Deployment[] {
  const all = [...deployments.values()];
  if (target.scope === 'all') return all;
  if (target.scope === 'environment') {
    const covered = all.filter((d) => d.environment === target.target);
    if (covered.length === 0) {
      const environments = [...new Set(all.map((d) => d.environment))];
      throw new Refusal(
        'unknown_deployment',
        `no deployment has the environment "${target.target}" (environments: ${environments.join(', ')})`,
      );
    }
    return covered;
  }
  return [];
}

/**
 * Who may lock or unlock a target: for each deployment it covers, someone in
 * its `locks.from` (default its approvers). Refuses with who may.
 */
async function checkMayLock(
  target: LockTarget,
  covered: readonly Deployment[],
  actor: Actor,
  groups: GroupMembership | undefined,
  what: 'lock' | 'unlock',
): Promise<void> {
  checkIdentity(actor);
  for (const d of covered) {
    const from = d.locks?.from ?? d.approvers;
    if (await isListed(from, actor.id, groups)) continue;
    const groupNote =
      !groups && from.some((id) => id.startsWith('S'))
        ? ' (user-group membership can only be checked from Slack)'
        : '';
    const whole = target.scope === 'deployment' ? '' : ` (${describeLockTarget(target)} covers it)`;
    throw new Refusal(
      'lock_not_allowed',
      `you may not ${what} ${d.name}${whole}: who may is ${describeIds(from)}${d.locks ? ' (locks.from)' : ' (its approvers)'}${groupNote}`,
      { deployment: d.name, from },
    );
  }
}

export type LockContext = {
  readonly deployments: ReadonlyMap<string, Deployment>;
  /** A deployment by name, refusing an unknown one with the closest name. */
  readonly deployment: (name: string) => Deployment;
  readonly groups: GroupMembership | undefined;
};

function coveredDeployments(target: LockTarget, context: LockContext): Deployment[] {
  return target.scope === 'deployment'
    ? [context.deployment(target.target ?? '')]
    : coveredBy(target, context.deployments);
}

/** Takes a lock: refuses without a reason, when not allowed, or when one is in force. */
export async function takeLock(
  db: Db,
  target: LockTarget,
  reasonText: string | undefined,
  actor: Actor,
  context: LockContext,
): Promise<LockView> {
  const covered = coveredDeployments(target, context);
  await checkMayLock(target, covered, actor, context.groups, 'lock');
  const reason = cleanPersonText(reasonText);
  if (reason === null) {
    throw new Refusal(
      'reason_required',
      `say why ${describeLockTarget(target)} is locked: a lock needs a reason, shown on every run it holds`,
    );
  }
  return db.transaction(async (tx) => {
    const row = await insertLock(tx, target, reason, actor);
    if (!row) {
      const existing = await lockOn(tx, target);
      throw new Refusal(
        'already_locked',
        `${describeLockTarget(target)} is already locked${existing ? ` by ${existing.lockedBy} since ${formatInstant(existing.createdAt)} ("${existing.reason}")` : ''}`,
        existing ? { lock: lockView(existing) } : {},
      );
    }
    await touchHeldRuns(tx, target);
    return lockView(row);
  });
}

/** Lifts the lock on a target: refuses when not allowed or when none is in force. */
export async function liftLockOn(
  db: Db,
  target: LockTarget,
  actor: Actor,
  context: LockContext,
): Promise<LockView> {
  const covered =
    target.scope === 'deployment' && !context.deployments.has(target.target ?? '')
      ? [] // a deployment gone from the config: anyone who may act may lift its lock
      : coveredDeployments(target, context);
  checkIdentity(actor);
  await checkMayLock(target, covered, actor, context.groups, 'unlock');
  return db.transaction(async (tx) => {
    const row = await liftLock(tx, target, actor);
    if (!row) {
      throw new Refusal('not_locked', `${describeLockTarget(target)} is not locked`);
    }
    await touchHeldRuns(tx, target);
    return lockView(row);
  });
}

/** Every lock in force. */
export async function listLocks(db: Db | Tx): Promise<LockView[]> {
  return (await locksInForce(db)).map(lockView);
}
