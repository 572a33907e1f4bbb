// Runs as every front end sees them (RunView, PlanView, TransitionView): rows
// mapped to views, sensitive values masked. Reads through the store's modules;
// moves nothing.

import type {
  ApprovalView,
  PlanView,
  PolicyView,
  RunFilter,
  RunView,
  TransitionView,
} from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { recoveryStepsOf } from '../lifecycle/recovery.ts';
import { phaseOf, STATUS_TABLE } from '../lifecycle/statuses.ts';
import { noteRun } from '../logs/logger.ts';
import { MASK } from '../logs/redact.ts';
import { policyStages } from '../policy/evaluate.ts';
import { holdsView } from '../policy/holds-view.ts';
import type { RulesOutcome } from '../policy/rules.ts';
import { viewRulesOutcome, warmRunPolicies } from '../policy/run-policy.ts';
import type { Db, Tx } from '../store/database.ts';
import { type LockRow, locksInForce } from '../store/locks.ts';
import type { ApprovalRow, PlanRow } from '../store/plans.ts';
import {
  listRunPage,
  listRunRows,
  plansAndApprovalsOf,
  type RunPage,
  type RunRow,
  requireRunRow,
  runWithPlan,
  transitionRows,
} from '../store/runs.ts';
import { queuePosition } from '../store/slots.ts';

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** Variables in the config's order, sensitive values masked. */
function maskedVariables(row: RunRow): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  const order = Object.keys((row.config as Deployment).variables ?? {});
  for (const key of [
    ...order,
    ...Object.keys(row.variables),
    ...Object.keys(row.secretVariables),
  ]) {
    if (key in out) continue;
    if (key in row.secretVariables) out[key] = MASK;
    else if (key in row.variables) out[key] = row.variables[key]!;
  }
  return out;
}

export function planView(plan: PlanRow): PlanView {
  return {
    id: plan.id,
    known: plan.known,
    add: plan.add,
    change: plan.change,
    destroy: plan.destroy,
    changes: plan.changes,
    artifactHash: plan.artifactHash,
    createdAt: plan.createdAt.toISOString(),
  };
}

type Extras = {
  plan: PlanRow | null;
  approvals: ApprovalRow[];
  queue: RunView['queue'];
  /** Locks in force (those holding this run are shown); none when not read. */
  locks?: readonly LockRow[];
  /** The rules' outcome when the caller has it (a decision that just evaluated them). */
  rules?: RulesOutcome | undefined;
};

/** The policy's state from the run's config snapshot, its stored approvals and the locks in force. */
function runPolicyView(
  row: RunRow,
  approvalViews: readonly ApprovalView[],
  lockRows: readonly LockRow[],
  now: Date,
  plan: PlanRow | null,
  known: RulesOutcome | undefined,
): PolicyView | null {
  const deployment = row.config as Deployment | null;
  if (!deployment || !Array.isArray(deployment.approvers)) return null;
  const stored = approvalViews.map((a) => ({
    stage: a.stage,
    actor: a.by,
    entry: a.entry ?? null,
  }));
  // The rules' answer now (the audit keeps what they said at each decision).
  const rules =
    known ??
    viewRulesOutcome(
      row,
      plan,
      approvalViews.map((a) => ({ stage: a.stage, actor: a.by, at: a.at })),
      now,
    );
  return {
    ...policyStages(deployment, stored, rules),
    rules: rules.results,
    ...holdsView(row, approvalViews, lockRows, now),
  };
}

export function toRunView(row: RunRow, extras: Extras, now = new Date()): RunView {
  const status = row.status;
  noteRun(row);
  const end = row.finishedAt ?? now;
  const stageOrder = (stage: string) => (stage === 'plan' ? 0 : 1);
  const approvalViews: ApprovalView[] = extras.approvals
    .sort(
      (a, b) =>
        stageOrder(a.stage) - stageOrder(b.stage) ||
        a.createdAt.getTime() - b.createdAt.getTime() ||
        a.actor.localeCompare(b.actor),
    )
    .map((a) => ({
      stage: a.stage,
      by: a.actor,
      via: a.via,
      at: a.createdAt.toISOString(),
      planId: a.planId,
      note: a.note,
      entry: a.entry,
      overrideReason: a.overrideReason,
    }));
  return {
    id: row.id,
    deployment: row.deployment,
    environment: row.environment,
    kind: row.kind,
    status,
    statusLabel: STATUS_TABLE[status].label,
    currentPhase: phaseOf(status),
    failedPhase: row.failedPhase ?? null,
    sourceSummary: row.source,
    variables: maskedVariables(row),
    variableSources: row.variableSources ?? {},
    plan: extras.plan ? planView(extras.plan) : null,
    approvals: approvalViews,
    policy: runPolicyView(row, approvalViews, extras.locks ?? [], now, extras.plan, extras.rules),
    outputs: row.outputs ?? null,
    error: row.error,
    recoveryHint:
      row.recoveryHint !== null ? { text: row.recoveryHint, steps: recoveryStepsOf(row) } : null,
    cancel: row.cancelledBy ? { by: row.cancelledBy, reason: row.cancelReason ?? '' } : null,
    requestedBy: row.requestedBy,
    requestedVia: row.requestedVia,
    channel: row.channel,
    queue: extras.queue,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    finishedAt: iso(row.finishedAt),
    durationSeconds: Math.max(0, Math.round((end.getTime() - row.createdAt.getTime()) / 1000)),
    version: row.version,
    configVersion: row.configVersion,
  };
}

export async function loadRunViews(db: Db | Tx, rows: readonly RunRow[]): Promise<RunView[]> {
  if (rows.length === 0) return [];
  const [{ plans, approvals }, locks] = await Promise.all([
    plansAndApprovalsOf(db, rows),
    locksInForce(db),
  ]);
  return viewsOf(db, { rows: [...rows], plans, approvals }, locks);
}

/**
 * Up to this many runs, a list reads each one's plan and approvals in the
 * page's own statement (one round trip); a longer page (deploy-tui's 1,000)
 * reads them in two batched queries after it, which costs less than a lookup
 * per row.
 */
const ONE_STATEMENT_PAGE = 100;

/** A list's page of views, the locks read beside it. */
export async function listRunViews(db: Db, filter: RunFilter): Promise<RunView[]> {
  if ((filter.limit ?? 50) > ONE_STATEMENT_PAGE)
    return loadRunViews(db, await listRunRows(db, filter));
  const [page, locks] = await Promise.all([listRunPage(db, filter), locksInForce(db)]);
  return viewsOf(db, page, locks);
}

async function viewsOf(db: Db | Tx, page: RunPage, locks: readonly LockRow[]): Promise<RunView[]> {
  const { rows, plans, approvals } = page;
  const planById = new Map(plans.map((p) => [p.id, p]));
  await warmRunPolicies(db, rows);
  const now = new Date();
  return Promise.all(
    rows.map(async (row) =>
      toRunView(
        row,
        {
          plan: row.planId ? (planById.get(row.planId) ?? null) : null,
          approvals: approvals.filter((a) => a.runId === row.id && a.planId === row.planId),
          queue: await queuePosition(db, row),
          locks,
        },
        now,
      ),
    ),
  );
}

/** One run with its plan and its approvals, read in one statement (a GET of a run waits for nothing else). */
export async function loadRunView(db: Db | Tx, runId: string): Promise<RunView> {
  const found = await runWithPlan(db, runId);
  if (!found)
    return requireRunRow(db, runId).then((row) => loadRunViews(db, [row]).then((v) => v[0]!));
  await warmRunPolicies(db, [found.row]);
  return toRunView(
    found.row,
    {
      plan: found.plan,
      approvals: found.approvals,
      queue: await queuePosition(db, found.row),
      locks: found.locks,
    },
    new Date(),
  );
}

export async function listTransitions(db: Db, runId: string): Promise<TransitionView[]> {
  const rows = await transitionRows(db, runId);
  return rows.map((r) => ({
    from: r.fromStatus ?? null,
    to: r.toStatus,
    actor: r.actor,
    via: r.via,
    reason: r.reason,
    credential: r.credential,
    at: r.createdAt.toISOString(),
  }));
}
