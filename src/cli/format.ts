// Plain-text rendering of runs for the terminal.

import type {
  DeploymentView,
  LockView,
  LogLine,
  RecoveryStep,
  RunView,
} from '../core/api/types.ts';
import { type Decision, decisionsAt } from '../core/lifecycle/decisions.ts';
import { STATUS_TABLE } from '../core/lifecycle/statuses.ts';
import { describeLockTarget, formatInstant, lockTargetText } from '../core/policy/lock-target.ts';
import { formatDuration } from '../core/text/duration.ts';
import { COUNTS_UNKNOWN_REASON, planCounts } from '../core/text/plan.ts';
import { approvalEntryText, stageSummary, stagesToShow } from '../core/text/policy.ts';
import { ruleLines } from '../core/text/rules.ts';
import { fit } from '../core/text/width.ts';
import { variablesWithSources } from '../core/variables/sources.ts';

export function planLine(run: RunView): string {
  const plan = run.plan;
  if (!plan) return 'not planned yet';
  if (!plan.known) return `counts unknown (${COUNTS_UNKNOWN_REASON})`;
  return planCounts(plan);
}

function sourceLine(run: RunView): string {
  const s = run.sourceSummary;
  if (s.kind === 'directory') return `directory ${s.location}`;
  return `${s.location} ${s.gitRef}${s.commit ? ` @ ${s.commit.slice(0, 12)}` : ''} (${s.baseDirectory})`;
}

const DECISION_COMMAND: Record<Decision, string> = {
  approve_plan: 'approve',
  confirm_apply: 'apply',
  cancel: 'cancel',
};

/** The command that does a recovery step (the core says what; the CLI how). */
export function recoveryCommand(step: RecoveryStep): string {
  switch (step.kind) {
    case 'see_logs':
      return `deploy-bot logs ${step.runId}`;
    case 'save_logs':
      return `deploy-bot logs ${step.runId} > ${step.runId}.log`;
    case 'run_again':
      return `deploy-bot ${step.runKind === 'destroy' ? 'destroy' : 'execute'} ${step.deployment}`;
  }
}

/**
 * What the person can do next, as commands: the decisions the core says they
 * may take (`allowed`), or, read without an identity, those the status offers.
 */
export function nextSteps(run: RunView): string[] {
  const decisions = run.allowed ?? decisionsAt(run.status);
  // During a freeze, someone who may override it confirms with a reason.
  const override =
    run.policy?.freeze?.canOverride === true && run.policy.freeze.overridden === null
      ? ' --override-reason "why"'
      : '';
  const steps = decisions.map(
    (d) => `deploy-bot ${DECISION_COMMAND[d]} ${run.id}${d === 'confirm_apply' ? override : ''}`,
  );
  if (steps.length > 0 && decisions.some((d) => d !== 'cancel')) return steps;
  const recovery = run.recoveryHint?.steps ?? [];
  if (recovery.length > 0) return [...steps, ...recovery.map(recoveryCommand)];
  if (['failed', 'rolled_back', 'rollback_failed'].includes(run.status))
    return [...steps, `deploy-bot logs ${run.id}`];
  if (STATUS_TABLE[run.status].next.length > 0)
    return [...steps, `deploy-bot logs ${run.id} --follow`];
  return steps;
}

export function formatRun(run: RunView): string {
  const info = STATUS_TABLE[run.status];
  const lines = [
    `${run.id}  ${run.kind === 'destroy' ? 'DESTROY' : 'execute'} ${run.deployment} (${run.environment})`,
    `  status:    ${info.symbol} ${info.label}${run.currentPhase ? ` — phase ${run.currentPhase}` : ''}`,
    `  requested: by ${run.requestedBy} via ${run.requestedVia}, ${run.createdAt}`,
    `  source:    ${sourceLine(run)}`,
  ];
  if (run.configVersion)
    lines.push(
      `  config:    ${run.configVersion.slice(0, 12)} (the server's published config version)`,
    );
  const vars = variablesWithSources(run.variables, run.variableSources);
  if (vars.length > 0) lines.push(`  variables: ${vars.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (run.queue) {
    lines.push(
      `  queue:     position ${run.queue.position}${run.queue.behind ? `, behind ${run.queue.behind}` : ''}`,
    );
  }
  lines.push(`  plan:      ${planLine(run)}`);
  if (run.plan && run.plan.changes.length > 0) {
    const shown = run.plan.changes.slice(0, 20);
    for (const c of shown)
      lines.push(`             ${symbolOf(c.action)} ${c.address} (${c.action})`);
    if (run.plan.changes.length > shown.length)
      lines.push(`             …and ${run.plan.changes.length - shown.length} more`);
  }
  for (const [stage, view] of stagesToShow(run.policy)) {
    lines.push(`  policy:    ${stageSummary(stage, view)}`);
  }
  for (const rule of ruleLines(run.policy?.rules)) lines.push(`  rules:     ${rule.text}`);
  for (const a of run.approvals) {
    const entry = approvalEntryText(run.policy, a);
    lines.push(
      `  approved:  ${a.stage === 'plan' ? 'plan' : 'apply'} by ${a.by} via ${a.via} at ${a.at}${entry ? ` (${entry})` : ''}${a.note ? `: “${a.note}”` : ''}`,
    );
  }
  lines.push(...holdLines(run));
  if (run.outputs) lines.push(`  outputs:   ${JSON.stringify(run.outputs)}`);
  if (run.failedPhase) lines.push(`  failed in: ${run.failedPhase}`);
  // A step's own error output spans lines: each under the first.
  if (run.error) lines.push(`  error:     ${run.error.replaceAll('\n', '\n             ')}`);
  if (run.recoveryHint) lines.push(`  hint:      ${run.recoveryHint.text}`);
  if (run.cancel) lines.push(`  cancelled: by ${run.cancel.by}: ${run.cancel.reason}`);
  lines.push(`  duration:  ${formatDuration(run.durationSeconds * 1000)}`);
  const next = nextSteps(run);
  if (next.length > 0) lines.push(`  next:      ${next.join('   or   ')}`);
  return lines.join('\n');
}

/** The freeze and the locks holding the run (or the freeze its apply overrode). */
export function holdLines(run: RunView): string[] {
  const lines: string[] = [];
  const freeze = run.policy?.freeze;
  if (freeze?.overridden) {
    lines.push(
      `  freeze:    “${freeze.reason}”: overridden by ${freeze.overridden.by} at ${freeze.overridden.at}: “${freeze.overridden.reason}”`,
    );
  } else if (freeze) {
    const who =
      freeze.overrideFrom.length > 0
        ? `override: ${freeze.overrideFrom.join(', ')}, with --override-reason${freeze.canOverride === true ? ' (you may)' : ''}`
        : 'nobody may override it';
    lines.push(`  freeze:    “${freeze.reason}” until ${formatInstant(freeze.endsAt)}; ${who}`);
  }
  for (const lock of run.policy?.locks ?? []) {
    lines.push(
      `  locked:    ${describeLockTarget(lock)} by ${lock.by} since ${formatInstant(lock.at)}: “${lock.reason}” (deploy-bot unlock ${lockTargetText(lock)})`,
    );
  }
  return lines;
}

/** A lock as a line of `deploy-bot locks`. */
export function formatLock(lock: LockView): string {
  return `${lockTargetText(lock).padEnd(24)} by ${lock.by} via ${lock.via} since ${formatInstant(lock.at)}: “${lock.reason}”`;
}

function symbolOf(action: string) {
  return action === 'create' ? '+' : action === 'delete' ? '-' : action === 'replace' ? '±' : '~';
}

export function formatRunRow(run: RunView): string {
  const info = STATUS_TABLE[run.status];
  return [
    fit(run.id, 13),
    fit(run.deployment, 16),
    fit(run.environment, 12),
    fit(run.kind, 8),
    fit(`${info.symbol} ${run.status}`, 26),
    fit(run.requestedBy, 12),
    formatDuration(run.durationSeconds * 1000),
  ].join(' ');
}

export function formatDeployment(d: DeploymentView): string {
  const state = d.state.active ? `running ${d.state.active.id} (${d.state.active.status})` : 'idle';
  const extra = [
    d.state.awaiting > 0 ? `${d.state.awaiting} awaiting approval` : '',
    d.state.queued > 0 ? `${d.state.queued} queued` : '',
    d.state.freeze
      ? `frozen until ${formatInstant(d.state.freeze.endsAt)} (“${d.state.freeze.reason}”)`
      : '',
    ...d.state.locks.map((l) => `locked (${lockTargetText(l)}) by ${l.by}: “${l.reason}”`),
  ].filter(Boolean);
  return `${d.name.padEnd(20)} ${d.environment.padEnd(12)} ${state}${extra.length ? `, ${extra.join(', ')}` : ''}\n    usage: ${d.usage}${d.description ? `\n    ${d.description}` : ''}`;
}

export function formatLogLine(line: LogLine): string {
  const prefix = line.stream === 'system' ? '»' : line.stream === 'stderr' ? '!' : ' ';
  return `${line.at.slice(11, 23)} ${line.phase.padEnd(8)} ${prefix} ${line.line}`;
}
