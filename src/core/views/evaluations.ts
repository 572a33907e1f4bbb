// A run's rules evaluations for the audit, in the order they happened: its
// plans' (kept on each plan's row), its allowed decisions' (on each approval's
// row; a decision that took most answers from its plan's verdict keeps only
// the rules it evaluated, and is read back whole here) and its refused
// decisions' (policy_evaluations).

import type { PolicyEvaluationView } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { deploymentsOfVersion } from '../config/versions.ts';
import { compileRules, evaluationResult, mergedResults } from '../policy/rules.ts';
import type { Db } from '../store/database.ts';
import { evaluationRecords } from '../store/policy-evaluations.ts';
import { requireRunRow } from '../store/runs.ts';

export async function policyEvaluationViews(
  db: Db,
  runId: string,
): Promise<PolicyEvaluationView[]> {
  const [row, records] = await Promise.all([
    requireRunRow(db, runId),
    evaluationRecords(db, runId),
  ]);
  const version = row.configVersion;
  // The run's own rules (of the version it names), to read the plan's verdict back.
  const deployment: Deployment | undefined =
    version === null ? undefined : (await deploymentsOfVersion(db, version)).get(row.deployment);
  const rules = compileRules(deployment?.appliedRules);
  const verdicts = new Map(records.plans.map((p) => [p.planId, p]));
  const views: PolicyEvaluationView[] = [
    ...records.plans.map((p) => ({
      moment: 'plan_ready' as const,
      actor: null,
      via: null,
      configVersion: version,
      result: evaluationResult(p.rules),
      evaluated: p.evaluated,
      rules: p.rules,
      at: p.at.toISOString(),
    })),
    ...records.approvals.map((a) => {
      const verdict = a.fromPlan ? verdicts.get(a.planId) : undefined;
      const results = verdict ? mergedResults(rules, a.rules, verdict) : a.rules;
      return {
        moment: a.stage === 'plan' ? ('approve_plan' as const) : ('confirm_apply' as const),
        actor: a.actor,
        via: a.via,
        configVersion: version,
        result: evaluationResult(results),
        evaluated: a.evaluated,
        rules: results,
        at: a.at.toISOString(),
      };
    }),
    ...records.logged,
  ];
  // Stable: of one time, a plan's evaluation comes before a decision's.
  return views.sort((a, b) => a.at.localeCompare(b.at));
}
