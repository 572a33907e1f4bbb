// A run's rules and their outcome on the run's facts: the rules come from the
// config version the run names (kept there, not in the run's row; in memory
// after the first read).

import { deploymentsOfVersion, knownDeploymentsOfVersion } from '../config/versions.ts';
import { AWAITING_APPROVAL_STATUSES } from '../lifecycle/statuses.ts';
import type { Db, Tx } from '../store/database.ts';
import type { plans, runs } from '../store/schema.ts';
import type { AppliedRule } from './rule-config.ts';
import {
  compileRules,
  conditionInputOf,
  evaluateRules,
  NO_RULES,
  type PlanVerdict,
  type RuleResult,
  type RulesOutcome,
} from './rules.ts';

export type RunRow = typeof runs.$inferSelect;
type PlanRow = typeof plans.$inferSelect;

export type ApprovalFact = { readonly stage: string; readonly actor: string };

/** What a condition reads of a plan (a stored plan row or a plan view). */
export type PlanFacts = Pick<PlanRow, 'known' | 'add' | 'change' | 'destroy'> & {
  readonly changes: readonly { readonly address: string; readonly action: string }[];
  /** The rules' evaluation when the plan became ready (a stored plan row has it). */
  readonly rulesEvaluated?: number | null;
  readonly rulesMatched?: readonly RuleResult[] | null;
};

/**
 * The verdict a plan carries on the run's own rules, if any: only for
 * evaluating those same rules (never a proposed config's).
 */
export function planVerdictOf(plan: PlanFacts | null): PlanVerdict | null {
  if (plan?.rulesEvaluated == null || !plan.rulesMatched) return null;
  return { evaluated: plan.rulesEvaluated, rules: plan.rulesMatched };
}

/** The rules a run is bound to and the time zone of its `now`. */
export type RunPolicy = {
  readonly rules: readonly AppliedRule[];
  readonly timezone: string | undefined;
};

/**
 * The rules of the config version the run was requested under (kept there,
 * not in the run's row; in memory after the first read). Runs older than
 * config versions have none.
 */
export async function runPolicyOf(db: Db | Tx, row: RunRow): Promise<RunPolicy> {
  if (row.configVersion === null) return { rules: [], timezone: undefined };
  const deployment = (await deploymentsOfVersion(db, row.configVersion)).get(row.deployment);
  return { rules: deployment?.appliedRules ?? [], timezone: deployment?.timezone };
}

/**
 * The run's rules evaluated on its facts at `now`. With the plan's verdict on
 * these same rules, only those reading `now` or `approvals` are evaluated.
 */
export function runRulesOutcome(
  row: RunRow,
  policy: RunPolicy,
  plan: PlanFacts | null,
  approvals: readonly ApprovalFact[],
  now = new Date(),
  planVerdict: PlanVerdict | null = null,
): RulesOutcome {
  const rules = compileRules(policy.rules);
  if (rules.length === 0) return NO_RULES;
  return evaluateRules(
    rules,
    () =>
      conditionInputOf(
        {
          deployment: row.deployment,
          environment: row.environment,
          kind: row.kind,
          requestedBy: row.requestedBy,
          requestedVia: row.requestedVia,
          // The plain column only: sensitive values live apart and never reach a rule.
          variables: row.variables,
          plan,
          approvals,
          timezone: policy.timezone,
        },
        now,
      ),
    planVerdict,
  );
}

/** The run's rules now, as a view and the decisions a person may take see them. */
export async function currentRulesOutcome(
  db: Db | Tx,
  row: RunRow,
  plan: PlanFacts | null,
  approvals: readonly ApprovalFact[],
): Promise<RulesOutcome> {
  const policy = await runPolicyOf(db, row);
  return runRulesOutcome(row, policy, plan, approvals, new Date(), planVerdictOf(plan));
}

/**
 * The same, synchronously, for building a run view: the run's config version
 * must have been read in this process (warmRunPolicies does it for loaders).
 * A run waiting for a decision is evaluated now; any other at its last
 * decision (its newest approval, else when it entered its status), so that a
 * finished run keeps showing what the rules said then, not what they say today.
 */
export function viewRulesOutcome(
  row: RunRow,
  plan: PlanFacts | null,
  approvals: readonly (ApprovalFact & { readonly at?: string })[],
  now = new Date(),
): RulesOutcome {
  if (row.configVersion === null) return NO_RULES;
  const deployment = knownDeploymentsOfVersion(row.configVersion)?.get(row.deployment);
  const rules = deployment?.appliedRules ?? [];
  if (rules.length === 0) return NO_RULES;
  const at = viewInstant(row, approvals, now);
  const policy = { rules, timezone: deployment?.timezone };
  return runRulesOutcome(row, policy, plan, approvals, at, planVerdictOf(plan));
}

/** When a view evaluates a run's rules: now while it waits for a decision, else at its last one. */
export function viewInstant(
  row: Pick<RunRow, 'status' | 'statusSince'>,
  approvals: readonly { readonly at?: string }[],
  now: Date,
): Date {
  if (AWAITING_APPROVAL_STATUSES.includes(row.status)) return now;
  const times = approvals.flatMap((a) => (a.at ? [Date.parse(a.at)] : []));
  return times.length > 0 ? new Date(Math.max(...times)) : row.statusSince;
}

/** Reads the config versions of `rows` that this process has not read yet. */
export async function warmRunPolicies(db: Db | Tx, rows: readonly RunRow[]): Promise<void> {
  const missing = new Set(
    rows.flatMap((r) =>
      r.configVersion !== null && !knownDeploymentsOfVersion(r.configVersion)
        ? [r.configVersion]
        : [],
    ),
  );
  for (const hash of missing) await deploymentsOfVersion(db, hash);
}
