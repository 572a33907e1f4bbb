// What the dashboard shows for a given state and the data of the moment:
// the filtered runs, the selection, the opened run and the geometry of the
// panes. Pure, so the reducer and the screen read the same figures.

import type { Actor, RunView } from '../../core/api/types.ts';
import { type Decision, decisionsAt } from '../../core/lifecycle/decisions.ts';
import { STATUS_TABLE } from '../../core/lifecycle/statuses.ts';
import { type ActionKind, DIALOG_HEIGHT } from '../components/confirm.ts';
import type { ActionHint } from '../components/run-detail.ts';
import type { RunDetailSnapshot } from '../data/run-detail.ts';
import type { RunsSnapshot } from '../data/runs-store.ts';
import type { DashboardState } from './state.ts';

/** The data the dashboard is drawn from, as the stores have it now. */
export type DashboardData = {
  readonly runs: RunsSnapshot;
  readonly detail: RunDetailSnapshot | null;
  readonly actor: Actor | null;
  readonly width: number;
  readonly height: number;
  /** Rows of the opened run's detail pane at the pane's width (drawn lazily). */
  readonly detailRowCount: (run: RunView, width: number) => number;
};

export type Layout = {
  readonly banner: boolean;
  readonly contentHeight: number;
  readonly sideBySide: boolean;
  readonly detailWidth: number;
  readonly logWidth: number;
  readonly detailHeight: number;
  readonly logHeight: number;
  /** Detail rows visible below the pane's title. */
  readonly detailVisible: number;
};

export type DashboardView = {
  readonly runs: readonly RunView[];
  readonly selected: number;
  readonly selectedRun: RunView | undefined;
  readonly openRun: RunView | undefined;
  /** The run an action key acts on: the opened one, else the selected one. */
  readonly target: RunView | undefined;
  readonly layout: Layout;
  readonly data: DashboardData;
};

/** The search: every word must appear in the run's id, names, status or requester. */
export function searchRuns(runs: readonly RunView[], search: string): readonly RunView[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return runs;
  return runs.filter((r) => {
    const hay =
      `${r.id} ${r.deployment} ${r.environment} ${r.kind} ${r.status} ${r.statusLabel} ${r.requestedBy} ${r.currentPhase ?? ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** What an action needs of a run's status; null when it may be asked. */
export function actionBlocker(action: ActionKind, run: RunView): string | null {
  const label = STATUS_TABLE[run.status].label.toLowerCase();
  switch (action) {
    case 'approve':
      return run.status === 'awaiting_plan_approval'
        ? null
        : `nothing to approve: ${run.id} is ${label}`;
    case 'apply':
      return run.status === 'awaiting_apply_approval'
        ? null
        : `nothing to apply: ${run.id} is ${label}${run.status === 'awaiting_plan_approval' ? ' (approve the plan first: a)' : ''}`;
    case 'cancel':
      return STATUS_TABLE[run.status].cancellable
        ? null
        : `${run.id} cannot be cancelled: it is ${label}`;
    case 'lock':
    case 'unlock':
      return null;
  }
}

const DECISION_KEYS: Record<Decision, { readonly key: string; readonly action: ActionKind }> = {
  approve_plan: { key: 'a', action: 'approve' },
  confirm_apply: { key: 'x', action: 'apply' },
  cancel: { key: 'c', action: 'cancel' },
};

/**
 * The action keys shown for a run: the decisions the core says this person may
 * take (`allowed`, on a run read for them), else those its status offers.
 */
export function availableActions(run: RunView | undefined, actor: Actor | null): ActionHint[] {
  if (!run || !actor) return [];
  return (run.allowed ?? decisionsAt(run.status)).map((d) => {
    const { key, action } = DECISION_KEYS[d];
    const label =
      action === 'approve'
        ? 'approve plan'
        : action === 'apply'
          ? run.kind === 'destroy'
            ? 'destroy'
            : 'apply'
          : 'cancel';
    return { key, label };
  });
}

export function layoutFor(
  state: DashboardState,
  size: { readonly width: number; readonly height: number },
  banner: boolean,
): Layout {
  const { width, height } = size;
  const dialogExtra = state.dialog ? DIALOG_HEIGHT - 2 : 0;
  const contentHeight = Math.max(2, height - 1 - (banner ? 1 : 0) - 2 - dialogExtra);
  const sideBySide = width >= 140 && !state.zoom;
  const detailWidth = sideBySide ? Math.floor(width * 0.45) : width;
  const logWidth = sideBySide ? width - detailWidth - 1 : width;
  let detailHeight: number;
  let logHeight: number;
  if (state.zoom) {
    detailHeight = state.pane === 'detail' ? contentHeight : 0;
    logHeight = state.pane === 'log' ? contentHeight : 0;
  } else if (sideBySide) {
    detailHeight = contentHeight;
    logHeight = contentHeight;
  } else {
    detailHeight = Math.max(4, Math.floor(contentHeight * 0.45));
    logHeight = contentHeight - detailHeight;
  }
  const detailVisible = Math.max(1, detailHeight - 1);
  return {
    banner,
    contentHeight,
    sideBySide,
    detailWidth,
    logWidth,
    detailHeight,
    logHeight,
    detailVisible,
  };
}

export function viewOf(state: DashboardState, data: DashboardData): DashboardView {
  const runs = searchRuns(data.runs.runs, state.search);
  const found = state.selectedId === null ? -1 : runs.findIndex((r) => r.id === state.selectedId);
  const selected = found >= 0 ? found : Math.min(state.selectedIndex, Math.max(0, runs.length - 1));
  const selectedRun = runs[selected];
  const openRun =
    state.openRunId === null
      ? undefined
      : ((data.detail?.runId === state.openRunId ? data.detail.run : null) ??
        data.runs.runs.find((r) => r.id === state.openRunId));
  const target = state.openRunId !== null ? openRun : selectedRun;
  const banner = !data.runs.connected && data.runs.lostSince !== null;
  return {
    runs,
    selected,
    selectedRun,
    openRun,
    target,
    layout: layoutFor(state, data, banner),
    data,
  };
}
