// The run detail pane: built as rows (pure, testable), then only the rows that fit
// are rendered. Plan summary and changed addresses, approvals, the phase timeline,
// error and recovery hint, outputs and the audit trail.

import { Box } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type {
  PolicyEvaluationView,
  RecoveryStep,
  RunView,
  TransitionView,
} from '../../core/api/types.ts';
import { type RunStatus, STATUS_TABLE } from '../../core/lifecycle/statuses.ts';
import { describeLockTarget, formatInstant } from '../../core/policy/lock-target.ts';
import { COUNTS_UNKNOWN_REASON, planCounts } from '../../core/text/plan.ts';
import { approvalEntryText, stageSummary, stagesToShow } from '../../core/text/policy.ts';
import { evaluationText, ruleLines } from '../../core/text/rules.ts';
import { variablesWithSources } from '../../core/variables/sources.ts';
import { clock, runDuration, shortDuration } from '../text/time.ts';
import { fit, sanitize, wrap } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { type Row, RowLine, type Segment } from './row.ts';

const LABEL = 11;
const MAX_CHANGES = 500;

export type ActionHint = { readonly key: string; readonly label: string };

function field(label: string, value: string | readonly Segment[], theme: Theme): Row {
  const head: Segment = { text: fit(label, LABEL), color: theme.c('muted') };
  return typeof value === 'string' ? [head, { text: sanitize(value) }] : [head, ...value];
}

function section(title: string, theme: Theme, extra = ''): Row {
  return [
    { text: `── ${title} `, bold: true, color: theme.c('accent') },
    { text: extra, dim: true },
  ];
}

function wrapped(
  text: string,
  width: number,
  indent: string,
  seg: Omit<Segment, 'text'>,
  maxLines = 12,
): Row[] {
  return wrap(text, Math.max(10, width - indent.length), maxLines).map((l) => [
    { text: indent },
    { ...seg, text: l },
  ]);
}

function changeSymbol(action: string): string {
  return action === 'create' ? '+' : action === 'delete' ? '-' : action === 'replace' ? '±' : '~';
}

export function planSummary(run: RunView): string {
  const plan = run.plan;
  if (!plan) return 'not planned yet';
  if (!plan.known) return `counts unknown (${COUNTS_UNKNOWN_REASON})`;
  return planCounts(plan);
}

type Stage = 'queue' | 'detect' | 'plan' | 'approval' | 'execute' | 'verify' | 'rollback' | 'end';

function stageOf(status: RunStatus): Stage {
  if (status === 'queued') return 'queue';
  if (status === 'awaiting_plan_approval' || status === 'awaiting_apply_approval')
    return 'approval';
  const phase = STATUS_TABLE[status].phase;
  return phase ?? 'end';
}

export type TimelineEntry = {
  readonly stage: Stage;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly state: 'done' | 'running' | 'failed' | 'end';
  /** For the end entry: the final status. */
  readonly status: RunStatus;
};

/** The phases a run went through, from its audit trail. */
export function timeline(run: RunView, transitions: readonly TransitionView[]): TimelineEntry[] {
  const entries: { stage: Stage; startedAt: string; status: RunStatus }[] = [];
  for (const t of transitions) {
    const stage = stageOf(t.to);
    const last = entries.at(-1);
    if (last && last.stage === stage && stage !== 'end') {
      last.status = t.to;
      continue;
    }
    entries.push({ stage, startedAt: t.at, status: t.to });
  }
  return entries.map((e, i) => {
    const next = entries[i + 1];
    if (e.stage === 'end') return { ...e, endedAt: e.startedAt, state: 'end' as const };
    const failed =
      run.failedPhase !== null && e.stage === run.failedPhase && next?.stage !== e.stage;
    const state = next ? (failed ? 'failed' : 'done') : run.finishedAt ? 'done' : 'running';
    return { ...e, endedAt: next?.startedAt ?? run.finishedAt, state };
  });
}

/** The freeze (in force, or overridden by the apply) and the locks holding the run. */
function holdRows(run: RunView, now: number, theme: Theme): Row[] {
  const rows: Row[] = [];
  const freeze = run.policy?.freeze;
  if (freeze?.overridden) {
    rows.push(
      field(
        'Freeze',
        [
          { text: `“${sanitize(freeze.reason)}” overridden`, color: theme.c('warning') },
          {
            text: ` by ${freeze.overridden.by}, ${clock(freeze.overridden.at, now)}: “${sanitize(freeze.overridden.reason)}”`,
          },
        ],
        theme,
      ),
    );
  } else if (freeze) {
    const who =
      freeze.canOverride === true
        ? ' — you may override it (x asks why)'
        : freeze.overrideFrom.length > 0
          ? ` — override: ${freeze.overrideFrom.join(', ')}`
          : ' — nobody may override it';
    rows.push(
      field(
        'Frozen',
        [
          { text: `until ${formatInstant(freeze.endsAt)}`, color: theme.c('danger'), bold: true },
          { text: `: “${sanitize(freeze.reason)}”${who}` },
        ],
        theme,
      ),
    );
  }
  for (const lock of run.policy?.locks ?? []) {
    rows.push(
      field(
        'Locked',
        [
          { text: describeLockTarget(lock), color: theme.c('danger'), bold: true },
          { text: ` by ${lock.by}, ${clock(lock.at, now)}: “${sanitize(lock.reason)}”` },
        ],
        theme,
      ),
    );
  }
  return rows;
}

export function detailRows(
  run: RunView,
  transitions: readonly TransitionView[],
  width: number,
  now: number,
  theme: Theme,
  actions: readonly ActionHint[] = [],
  evaluations: readonly PolicyEvaluationView[] = [],
): Row[] {
  const info = STATUS_TABLE[run.status];
  const rows: Row[] = [];
  rows.push([
    { text: run.id, bold: true, color: theme.c('accent') },
    { text: '  ' },
    run.kind === 'destroy'
      ? { text: 'DESTROY ', bold: true, color: theme.c('danger') }
      : { text: 'execute ' },
    { text: sanitize(run.deployment), bold: true },
    { text: ` (${sanitize(run.environment)})` },
  ]);
  rows.push(
    field(
      'Status',
      [
        { text: `${info.symbol} ${info.label}`, color: theme.status(run.status), bold: true },
        { text: run.currentPhase ? ` — phase ${run.currentPhase}` : '' },
        { text: `  ${runDuration(run, now)}`, dim: true },
      ],
      theme,
    ),
  );
  if (info.action !== 'none' && info.action !== 'wait') {
    const keys = actions.map((a) => `${a.key} ${a.label}`).join(' · ');
    rows.push(
      field(
        'Next',
        [
          { text: info.action, color: theme.c('warning') },
          { text: keys ? `  [${keys}]` : '', bold: true },
        ],
        theme,
      ),
    );
  }
  // The error's first line near the top too (in full further down).
  if (run.error) {
    rows.push(
      field(
        'Error',
        [{ text: sanitize(run.error.split('\n')[0] ?? ''), color: theme.c('danger') }],
        theme,
      ),
    );
  }
  rows.push(...holdRows(run, now, theme));
  // The plan's counts near the top: what an approver needs first.
  if (run.plan) rows.push(field('Plan', [{ text: planSummary(run), bold: true }], theme));
  rows.push(
    field(
      'Requested',
      `by ${run.requestedBy} via ${run.requestedVia}${run.channel ? ` in ${run.channel}` : ''}, ${clock(run.createdAt, now)}`,
      theme,
    ),
  );
  const s = run.sourceSummary;
  rows.push(
    field(
      'Source',
      s.kind === 'directory'
        ? `directory ${s.location}`
        : `${s.location} ${s.gitRef ?? ''}${s.commit ? ` @ ${s.commit.slice(0, 12)}` : ''}${s.baseDirectory ? ` (${s.baseDirectory})` : ''}`,
      theme,
    ),
  );
  const vars = variablesWithSources(run.variables, run.variableSources);
  if (vars.length > 0)
    rows.push(field('Variables', vars.map(([k, v]) => `${k}=${v}`).join(' '), theme));
  if (run.queue) {
    rows.push(
      field(
        'Queue',
        `position ${run.queue.position}${run.queue.behind ? `, behind ${run.queue.behind}` : ''}`,
        theme,
      ),
    );
  }

  // Error first when there is one: it is what the person came for.
  if (run.error || run.recoveryHint || run.cancel) {
    rows.push([]);
    if (run.error || run.recoveryHint) {
      rows.push(section('Error', theme, run.failedPhase ? `failed in ${run.failedPhase}` : ''));
      if (run.error) rows.push(...wrapped(run.error, width, '  ', { color: theme.c('danger') }));
      if (run.recoveryHint) {
        const hint = wrapped(`Hint: ${run.recoveryHint.text}`, width, '  ', {
          color: theme.c('warning'),
        });
        rows.push(...hint);
        for (const step of run.recoveryHint.steps) {
          rows.push(
            ...wrapped(`→ ${recoveryStepText(step)}`, width, '  ', { color: theme.c('warning') }),
          );
        }
      }
    }
    if (run.cancel) {
      rows.push(field('Cancelled', `by ${run.cancel.by}: ${run.cancel.reason}`, theme));
    }
  }

  rows.push([]);
  const plan = run.plan;
  rows.push(section('Plan', theme, plan ? `${plan.id}, ${clock(plan.createdAt, now)}` : ''));
  rows.push([{ text: '  ' }, { text: planSummary(run), bold: plan !== null }]);
  if (plan) {
    const shown = plan.changes.slice(0, MAX_CHANGES);
    for (const c of shown) {
      const role =
        c.action === 'create'
          ? 'add'
          : c.action === 'delete' || c.action === 'replace'
            ? 'destroy'
            : 'change';
      rows.push([
        { text: `  ${changeSymbol(c.action)} `, color: theme.c(role), bold: true },
        { text: `${fit(c.action, 8)}`, color: theme.c(role) },
        { text: sanitize(c.address) },
      ]);
    }
    if (plan.changes.length > shown.length) {
      rows.push([{ text: `  …and ${plan.changes.length - shown.length} more`, dim: true }]);
    }
  }

  rows.push([]);
  rows.push(section('Approvals', theme));
  for (const [stage, view] of stagesToShow(run.policy)) {
    const summary = stageSummary(stage, view);
    rows.push(
      ...wrapped(
        summary,
        width,
        '  ',
        { color: theme.c(view.satisfied ? 'success' : 'warning') },
        4,
      ),
    );
  }
  for (const rule of ruleLines(run.policy?.rules)) {
    const role = rule.kind === 'refuses' ? 'danger' : rule.kind === 'warns' ? 'warning' : 'info';
    rows.push(...wrapped(rule.text, width, '  ', { color: theme.c(role) }, 4));
  }
  if (run.approvals.length === 0) rows.push([{ text: '  none yet', dim: true }]);
  for (const a of run.approvals) {
    const entry = approvalEntryText(run.policy, a);
    rows.push([
      { text: '  ✓ ', color: theme.c('success') },
      { text: fit(a.stage === 'plan' ? 'plan' : 'apply', 6), bold: true },
      { text: `by ${a.by} ` },
      { text: `via ${a.via}`, color: theme.c('accent') },
      { text: `, ${clock(a.at, now)}`, dim: true },
      ...(entry ? [{ text: ` ${sanitize(entry)}`, dim: true }] : []),
      ...(a.note ? [{ text: ` “${a.note}”` }] : []),
    ]);
  }

  rows.push([]);
  rows.push(section('Timeline', theme));
  const entries = timeline(run, transitions);
  if (entries.length === 0) rows.push([{ text: '  loading…', dim: true }]);
  for (const e of entries) {
    if (e.state === 'end') {
      const endInfo = STATUS_TABLE[e.status];
      rows.push([
        { text: `  ${endInfo.symbol} `, color: theme.status(e.status) },
        { text: fit(endInfo.label, 12), color: theme.status(e.status), bold: true },
        { text: clock(e.startedAt, now) },
      ]);
      continue;
    }
    const end = e.endedAt ? Date.parse(e.endedAt) : now;
    const mark = e.state === 'failed' ? '✗' : e.state === 'running' ? '▶' : '✓';
    const colour =
      e.state === 'failed'
        ? theme.c('danger')
        : e.state === 'running'
          ? theme.c('accent')
          : theme.c('success');
    rows.push([
      { text: `  ${mark} `, color: colour },
      { text: fit(e.stage, 12), bold: e.state === 'running' },
      { text: fit(clock(e.startedAt, now), 14) },
      { text: shortDuration(end - Date.parse(e.startedAt)), dim: e.state !== 'running' },
    ]);
  }

  if (run.outputs && Object.keys(run.outputs).length > 0) {
    rows.push([]);
    rows.push(section('Outputs', theme));
    for (const [k, v] of Object.entries(run.outputs)) {
      rows.push([
        { text: `  ${k}`, bold: true },
        { text: ' = ' },
        { text: sanitize(typeof v === 'string' ? v : JSON.stringify(v)) },
      ]);
    }
  }

  rows.push([]);
  rows.push(section('Audit trail', theme, `${transitions.length} entries`));
  for (const t of transitions) {
    rows.push([
      { text: `  ${fit(clock(t.at, now), 14)}`, dim: true },
      { text: fit(t.from ?? '—', 24), color: t.from ? theme.status(t.from) : undefined },
      { text: '→ ' },
      { text: fit(t.to, 24), color: theme.status(t.to) },
      { text: `${t.actor} (${t.via})`, color: theme.c('accent') },
      { text: t.reason ? `: ${sanitize(t.reason)}` : '', dim: true },
    ]);
  }
  if (evaluations.length > 0) {
    rows.push([]);
    rows.push(section('Rule evaluations', theme, `${evaluations.length} entries`));
    for (const e of evaluations) {
      const role = e.result === 'allowed' ? 'success' : 'danger';
      rows.push(
        ...wrapped(
          `${clock(e.at, now)}  ${evaluationText(e)}`,
          width,
          '  ',
          { color: theme.c(role) },
          4,
        ),
      );
    }
  }
  return rows;
}

export type DetailPaneProps = {
  readonly rows: readonly Row[];
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly focused: boolean;
  readonly title: string;
  readonly theme: Theme;
};

export function paneTitle(
  title: string,
  focused: boolean,
  info: string,
  width: number,
  theme: Theme,
): Row {
  const head = ` ${title} `;
  const tail = info ? ` ${info} ` : '';
  const fill = Math.max(0, width - head.length - tail.length - 2);
  return [
    { text: '─', color: focused ? theme.c('accent') : theme.c('muted') },
    { text: head, bold: true, inverse: focused },
    { text: '─'.repeat(fill), color: focused ? theme.c('accent') : theme.c('muted') },
    { text: tail, dim: !focused },
    { text: '─', color: focused ? theme.c('accent') : theme.c('muted') },
  ];
}

/** The first row that may be shown, so that the last page is full. */
export function clampTop(top: number, count: number, visible: number): number {
  return Math.max(0, Math.min(top, count - visible));
}

export function DetailPane(props: DetailPaneProps): ReactElement {
  const visible = Math.max(0, props.height - 1);
  const top = clampTop(props.top, props.rows.length, visible);
  const end = Math.min(props.rows.length, top + visible);
  const info = props.rows.length > visible ? `${top + 1}–${end} of ${props.rows.length}` : '';
  const children: ReactElement[] = [
    h(RowLine, {
      key: 'title',
      row: paneTitle(props.title, props.focused, info, props.width, props.theme),
      width: props.width,
    }),
  ];
  for (let i = top; i < end; i++) {
    children.push(h(RowLine, { key: i, row: props.rows[i]!, width: props.width }));
  }
  return h(
    Box,
    { flexDirection: 'column', width: props.width, height: props.height, overflow: 'hidden' },
    ...children,
  );
}

/** deploy-tui's words for a recovery step: where it is on this screen, or elsewhere. */
function recoveryStepText(step: RecoveryStep): string {
  switch (step.kind) {
    case 'see_logs':
      return 'The log pane has the whole log (tab, z to zoom)';
    case 'save_logs':
      return `Save the whole log before anything else: deploy-bot logs ${step.runId} > ${step.runId}.log`;
    case 'run_again':
      return `Request ${step.deployment} again from Slack or the CLI (a new plan, both approvals)`;
  }
}
