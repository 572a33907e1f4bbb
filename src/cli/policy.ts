// `deploy-bot policy check` (a config's policies, checked as a server loads
// them, with every problem's file, path, rule and column) and `deploy-bot
// policy test RUN` (a stored run's facts replayed against the published or a
// proposed config: what each rule would decide, what each stage would need).
// Administrator commands: check reads a file; test reads the database.

import type { PolicyEvaluationView, TransitionView } from '../core/api/types.ts';
import { type Deployment, type LoadedConfig, loadConfig } from '../core/config/load.ts';
import { currentConfigVersion, shortVersion } from '../core/config/versions.ts';
import { ConfigError } from '../core/errors.ts';
import { nowIn } from '../core/policy/condition.ts';
import { stageEntries } from '../core/policy/evaluate.ts';
import type { Requirement } from '../core/policy/requirements.ts';
import type { AppliedRule } from '../core/policy/rule-config.ts';
import type { RuleResult, RulesOutcome } from '../core/policy/rules.ts';
import { runRulesOutcome } from '../core/policy/run-policy.ts';
import type { Settings } from '../core/settings.ts';
import { connect } from '../core/store/database.ts';
import { eq } from '../core/store/orm.ts';
import { planById } from '../core/store/plans.ts';
import { requireRunRow } from '../core/store/runs.ts';
import { approvals } from '../core/store/schema.ts';
import { configureSecrets } from '../core/store/secrets.ts';
import { evaluationText } from '../core/text/rules.ts';
import { resolveDatabaseUrl } from '../server/embedded-postgres.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export class PolicyUsageError extends Error {
  override readonly name = 'PolicyUsageError';
}

export type PolicyOptions = {
  readonly json: boolean;
  /** --config was given: a proposed config rather than the published one (policy test). */
  readonly proposed: boolean;
  /** --at: the moment to evaluate at (policy test). */
  readonly at: string | undefined;
};

export async function policyCommand(
  positionals: readonly string[],
  settings: Settings,
  options: PolicyOptions,
  io: Io,
): Promise<number> {
  const [sub, runId] = positionals;
  if (sub === 'check') return policyCheck(settings.configFile, options.json, io);
  if (sub === 'test') {
    if (!runId)
      throw new PolicyUsageError('policy test needs a run id: deploy-bot policy test RUN');
    return policyTest(runId, settings, options, io);
  }
  throw new PolicyUsageError(
    sub === undefined
      ? 'policy needs a subcommand: check or test'
      : `unknown policy subcommand "${sub}": use check or test`,
  );
}

// ---- check -------------------------------------------------------------------

type Warning = { readonly where: string; readonly rule: string; readonly message: string };

const VARIABLE_REFERENCE = /run\.variables(?:\.([A-Za-z_]\w*)|\[\s*["']([^"']+)["']\s*\])/g;

/**
 * Rules that load but would fail at every evaluation (fail closed): a
 * variable the deployment does not declare, or a sensitive one (never given
 * to rules). A reference guarded by has() is fine.
 */
export function ruleWarnings(deployment: Deployment): Warning[] {
  const warnings: Warning[] = [];
  for (const rule of deployment.appliedRules ?? []) {
    for (const match of rule.when.matchAll(VARIABLE_REFERENCE)) {
      const name = match[1] ?? match[2] ?? '';
      if (rule.when.includes(`has(run.variables.${name})`)) continue;
      const spec = deployment.variables[name];
      const why = !spec
        ? `${deployment.name} has no variable "${name}"`
        : spec.sensitive
          ? `"${name}" is sensitive, and sensitive values are never given to rules`
          : null;
      if (why === null) continue;
      warnings.push({
        where: `${rule.path}.when`,
        rule: rule.name,
        message: `${why}: the condition fails whenever it reaches run.variables.${name}${rule.mode === 'enforce' ? ', and a failing enforce rule refuses every decision' : ''} (guard it with has(run.variables.${name}))`,
      });
    }
  }
  return warnings;
}

function describeRequirement(r: Requirement): string {
  const rest = [
    r.notRequester ? 'not the requester' : '',
    r.notPlanApprovers ? 'not a plan approver' : '',
  ].filter(Boolean);
  return `${r.count} from ${r.from.join(', ')}${rest.length ? `, ${rest.join(', ')}` : ''}`;
}

function describeRule(rule: AppliedRule): string {
  const effect = rule.effect === 'deny' ? `deny "${rule.message}"` : `require ${requireText(rule)}`;
  return `${rule.name} (${rule.mode}, ${rule.path}): when ${rule.when} → ${effect}`;
}

function policyCheck(file: string, json: boolean, io: Io): number {
  let config: LoadedConfig;
  try {
    config = loadConfig(file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (json) io.out(JSON.stringify({ file, ok: false, problems: error.problems }, null, 2));
    else {
      io.out(`${file}: ${error.problems.length} problem(s); a server would refuse to load it:`);
      for (const p of error.problems) io.out(`  ${p}`);
    }
    return 2;
  }
  const deployments = [...config.deployments.values()];
  const warnings = deployments.flatMap((d) =>
    ruleWarnings(d).map((w) => ({ deployment: d.name, ...w })),
  );
  if (json) {
    io.out(
      JSON.stringify(
        {
          file: config.file,
          ok: true,
          timezone: deployments[0]?.timezone ?? 'UTC',
          deployments: deployments.map((d) => ({ name: d.name, rules: d.appliedRules ?? [] })),
          warnings,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  io.out(`${config.file}: policies valid (time zone ${deployments[0]?.timezone ?? 'UTC'})`);
  for (const d of deployments) {
    const rules = d.appliedRules ?? [];
    io.out(`  ${d.name}: ${rules.length === 0 ? 'no rules' : `${rules.length} rule(s)`}`);
    for (const rule of rules) io.out(`    ${describeRule(rule)}`);
  }
  for (const w of warnings)
    io.out(`warning: ${w.where}: rule "${w.rule}" (${w.deployment}): ${w.message}`);
  return 0;
}

// ---- test --------------------------------------------------------------------

function requireText(rule: AppliedRule | undefined): string {
  if (!rule) return 'more approvals';
  return (['plan', 'apply'] as const)
    .filter((stage) => rule.require[stage].length > 0)
    .map((stage) => `${stage}: ${rule.require[stage].map(describeRequirement).join(' and ')}`)
    .join('; ');
}

function verdict(r: RuleResult, rule: AppliedRule | undefined): string {
  if (r.error !== null) {
    const then =
      r.mode === 'enforce'
        ? 'refuses (a failing enforce rule says no)'
        : r.mode === 'warn'
          ? 'shown, not enforced'
          : 'recorded only';
    return `FAILED: ${r.error} → ${then}`;
  }
  if (!r.matched) return 'no match';
  const does = r.effect === 'deny' ? `refuse: ${r.message}` : `require ${requireText(rule)}`;
  if (r.mode === 'enforce')
    return r.effect === 'deny'
      ? `matched → refuses: ${r.message}`
      : `matched → adds ${requireText(rule)}`;
  if (r.mode === 'warn') return `matched → warns, not enforced (would ${does})`;
  return `matched → recorded only (would ${does})`;
}

async function policyTest(
  runId: string,
  settings: Settings,
  options: PolicyOptions,
  io: Io,
): Promise<number> {
  const at = options.at === undefined ? new Date() : new Date(options.at);
  if (Number.isNaN(at.getTime()))
    throw new PolicyUsageError(`--at ${options.at} is not a date-time; e.g. 2026-12-04T16:30:00Z`);
  const proposed = options.proposed ? loadConfig(settings.configFile) : null;
  configureSecrets({ dataDir: settings.dataDir });
  const connection = connect(await resolveDatabaseUrl(settings), {
    max: 2,
    applicationName: 'deploy-bot:policy',
  });
  try {
    const db = connection.db;
    const row = await requireRunRow(db, runId);
    const published = proposed ? null : await currentConfigVersion(db);
    if (!proposed && !published)
      throw new PolicyUsageError(
        'no server has published a config yet: pass --config FILE to test a proposed one',
      );
    const deployments = proposed?.deployments ?? published?.deployments;
    const deployment = deployments?.get(row.deployment);
    const source = proposed
      ? `proposed ${proposed.file}`
      : `published version ${shortVersion(published?.hash ?? '')}`;
    if (!deployment)
      throw new PolicyUsageError(
        `the ${source} has no deployment "${row.deployment}", the deployment of ${runId}`,
      );
    const plan = row.planId ? await planById(db, row.planId) : null;
    const given = await db
      .select({ stage: approvals.stage, actor: approvals.actor, planId: approvals.planId })
      .from(approvals)
      .where(eq(approvals.runId, runId));
    const facts = given.filter((a) => a.planId === row.planId);
    // The stored run's facts, the rules of the config under test.
    const outcome = runRulesOutcome(
      row,
      { rules: deployment.appliedRules ?? [], timezone: deployment.timezone },
      plan,
      facts,
      at,
    );
    // The deployment's entries of each stage, then those matched rules add.
    const requirements = {
      plan: stageEntries(deployment, 'plan', outcome),
      apply: stageEntries(deployment, 'apply', outcome),
    };
    const now = nowIn(at, deployment.timezone ?? 'UTC');
    if (options.json) {
      io.out(
        JSON.stringify(
          {
            run: runId,
            config: proposed ? { proposed: proposed.file } : { published: published?.hash ?? null },
            runConfigVersion: row.configVersion,
            at: at.toISOString(),
            now,
            results: outcome.results,
            denials: outcome.denials,
            requirements,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    io.out(
      `${runId}  ${row.kind} ${row.deployment} (${row.environment}), requested by ${row.requestedBy} via ${row.requestedVia}; now ${row.status}`,
    );
    io.out(
      `config:    ${source}${row.configVersion ? ` (the run was requested under ${shortVersion(row.configVersion)})` : ''}`,
    );
    io.out(
      `now:       ${now.weekday} ${now.date} ${String(now.hour).padStart(2, '0')}:${String(now.minute).padStart(2, '0')} ${deployment.timezone ?? 'UTC'}`,
    );
    io.out(
      `plan:      ${plan ? (plan.known ? `+${plan.add} ~${plan.change} -${plan.destroy}, ${plan.changes.length} change(s) listed` : 'counts unknown') : 'none yet'}`,
    );
    io.out(
      `approvals: ${facts.length === 0 ? 'none yet' : facts.map((a) => `${a.stage} by ${a.actor}`).join(', ')}`,
    );
    io.out(rulesSection(outcome, deployment.appliedRules ?? []));
    io.out(`decision:  ${decisionLine(outcome)}`);
    io.out('requirements:');
    for (const stage of ['plan', 'apply'] as const) {
      requirements[stage].forEach((e, i) => {
        const from = e.source.kind === 'rule' ? `rule ${e.source.rule}` : 'deployment';
        io.out(
          `  ${i === 0 ? `${stage}:`.padEnd(7) : '       '}${describeRequirement(e.requirement)}  (${from})`,
        );
      });
    }
    return 0;
  } finally {
    await connection.close();
  }
}

function rulesSection(outcome: RulesOutcome, rules: readonly AppliedRule[]): string {
  if (outcome.results.length === 0) return 'rules:     none apply to this deployment';
  const width = Math.max(...outcome.results.map((r) => r.name.length));
  return [
    `rules (${outcome.results.length}):`,
    ...outcome.results.map(
      (r) =>
        `  ${r.name.padEnd(width)}  ${r.mode.padEnd(7)}  ${r.effect.padEnd(7)}  ${verdict(
          r,
          rules.find((x) => x.name === r.name),
        )}`,
    ),
  ].join('\n');
}

function decisionLine(outcome: RulesOutcome): string {
  const [first, ...others] = outcome.denials;
  if (!first) return 'the rules allow a decision (the approvals below still apply)';
  const more = others.length > 0 ? ` (and ${others.map((d) => d.rule).join(', ')})` : '';
  return first.failed
    ? `refused: rule "${first.rule}" failed (${first.message})${more}`
    : `refused by rule "${first.rule}": ${first.message}${more}`;
}

// ---- audit -------------------------------------------------------------------

/** One audit line for an evaluation of the run's rules. */
export function formatEvaluation(e: PolicyEvaluationView): string {
  return `${e.at}  ${evaluationText(e)}`;
}

export type AuditEntry =
  | ({ readonly entry: 'transition' } & TransitionView)
  | ({ readonly entry: 'policy' } & PolicyEvaluationView);

/**
 * Status changes and rule evaluations in one list, by time. A decision's
 * evaluation and its transition share their transaction's time: the
 * evaluation comes first; the plan's evaluation comes after "plan ready".
 */
export function auditEntries(
  transitions: readonly TransitionView[],
  evaluations: readonly PolicyEvaluationView[],
): AuditEntry[] {
  const keyed = [
    ...transitions.map((t, i) => ({
      at: t.at,
      rank: 0,
      i,
      e: { entry: 'transition', ...t } as const,
    })),
    ...evaluations.map((v, i) => ({
      at: v.at,
      rank: v.moment === 'plan_ready' ? 1 : -1,
      i,
      e: { entry: 'policy', ...v } as const,
    })),
  ];
  keyed.sort((a, b) => a.at.localeCompare(b.at) || a.rank - b.rank || a.i - b.i);
  return keyed.map((k) => k.e);
}
