// The dashboard as data: its state, and one pure function from a state and an
// event to the next state and the effects to carry out (load, act, quit). A new
// key is one case here, one entry in keys.ts and its help line.

import type { Key } from 'ink';
import type { Message } from '../components/chrome.ts';
import { type ActionKind, type Dialog, reasonAsked } from '../components/confirm.ts';
import { clampTop } from '../components/run-detail.ts';
import type { RunsQuery } from '../data/runs-store.ts';
import { type Command, commandFor, GROUP_ORDER } from '../keys.ts';
import type { DashboardState } from './state.ts';
import { actionBlocker, type DashboardView } from './view.ts';

export { type DashboardState, INITIAL_STATE, type Pane } from './state.ts';

export type LogOp = 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'toggleFollow';

export type Effect =
  | { readonly type: 'quit' }
  | { readonly type: 'query'; readonly query: RunsQuery }
  | { readonly type: 'perform'; readonly dialog: Dialog }
  | { readonly type: 'log'; readonly op: LogOp }
  /** Reload: the runs list always; the opened run and its log when `run`. */
  | { readonly type: 'reload'; readonly run: boolean };

export type DashboardEvent =
  | { readonly type: 'key'; readonly input: string; readonly key: Key }
  /** An action's outcome, as the line to show. */
  | { readonly type: 'performed'; readonly message: Message };

export type Step = { readonly state: DashboardState; readonly effects: readonly Effect[] };

/** The view of a state: what the screen shows for it, with the data of the moment. */
export type See = (state: DashboardState) => DashboardView;

const HSTEP = 8;
const MAX_REASON = 200;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it rejects
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function isPrintable(input: string, key: Key): boolean {
  return (
    input.length > 0 &&
    !key.ctrl &&
    !key.meta &&
    !key.return &&
    !key.tab &&
    !key.escape &&
    !CONTROL_CHARS.test(input)
  );
}

function next<T>(list: readonly T[], current: T): T {
  const i = list.indexOf(current);
  return list[(i + 1) % list.length] ?? current;
}

const stay = (state: DashboardState): Step => ({ state, effects: [] });

export function reduce(state: DashboardState, event: DashboardEvent, see: See): Step {
  if (event.type === 'performed') return stay({ ...state, dialog: null, message: event.message });
  const { input, key } = event;
  if (state.help) return stay({ ...state, help: false });
  if (state.dialog) return dialogKey(state, state.dialog, input, key);
  if (state.searching) return searchKey(state, input, key);
  const cmd = commandFor(input, key);
  if (!cmd) return stay(state);
  const cleared =
    cmd.type === 'help' || state.message === null ? state : { ...state, message: null };
  if (cmd.type === 'quit') return { state: cleared, effects: [{ type: 'quit' }] };
  if (cmd.type === 'help') return stay({ ...state, help: true });
  return state.openRunId !== null ? runScreen(cleared, cmd, see) : runsScreen(cleared, cmd, see);
}

function dialogKey(state: DashboardState, dialog: Dialog, input: string, key: Key): Step {
  if (dialog.busy) return stay(state);
  const perform = (): Step => ({
    state: { ...state, dialog: { ...dialog, busy: true } },
    effects: [{ type: 'perform', dialog }],
  });
  const close = () => stay({ ...state, dialog: null });
  const asked = reasonAsked(dialog);
  if (asked !== null) {
    if (key.escape) return close();
    if (key.return)
      return asked === 'required' && dialog.reason.trim() === '' ? stay(state) : perform();
    if (key.backspace || key.delete)
      return stay({
        ...state,
        dialog: { ...dialog, reason: [...dialog.reason].slice(0, -1).join('') },
      });
    if (isPrintable(input, key))
      return stay({
        ...state,
        dialog: { ...dialog, reason: (dialog.reason + input).slice(0, MAX_REASON) },
      });
    return stay(state);
  }
  if (input === 'y' || input === 'Y') return perform();
  if (input === 'n' || input === 'N' || key.escape || input === 'q') return close();
  return stay(state);
}

function searchKey(state: DashboardState, input: string, key: Key): Step {
  if (key.escape) return stay({ ...state, search: '', searching: false });
  if (key.return || key.downArrow || key.upArrow) return stay({ ...state, searching: false });
  if (key.backspace || key.delete)
    return stay({ ...state, search: [...state.search].slice(0, -1).join('') });
  if (key.ctrl && input === 'u') return stay({ ...state, search: '' });
  if (isPrintable(input, key))
    return stay({ ...state, search: state.search + input, selectedId: null, selectedIndex: 0 });
  return stay(state);
}

/** Asks for a confirmation of an action, or says why it can't be asked. */
function ask(state: DashboardState, action: ActionKind, view: DashboardView): Step {
  const run = view.target;
  if (!run) return stay({ ...state, message: { kind: 'info', text: 'select a run first' } });
  if (!view.data.actor)
    return stay({
      ...state,
      message: {
        kind: 'info',
        text: 'read-only: set DEPLOY_TUI_USER to your Slack user id (or start with --as U…) to act',
      },
    });
  const blocker = actionBlocker(action, run);
  if (blocker) return stay({ ...state, message: { kind: 'info', text: blocker } });
  // L locks the run's deployment, or unlocks it when a lock on it holds the run.
  const locked = run.policy?.locks.some(
    (l) => l.scope === 'deployment' && l.target === run.deployment,
  );
  const kind = action === 'lock' && locked ? 'unlock' : action;
  return stay({ ...state, message: null, dialog: { action: kind, run, reason: '', busy: false } });
}

function runScreen(state: DashboardState, cmd: Command, see: See): Step {
  const log = (op: LogOp): Step => ({ state, effects: [{ type: 'log', op }] });
  const onLog = state.pane === 'log';
  const detail = (delta: number | 'top' | 'bottom'): Step => {
    const view = see(state);
    const { detailVisible, detailWidth } = view.layout;
    const rows = view.openRun ? view.data.detailRowCount(view.openRun, detailWidth) : 0;
    const from = clampTop(state.detailTop, rows, detailVisible);
    const top =
      delta === 'top'
        ? 0
        : delta === 'bottom'
          ? Math.max(0, rows - detailVisible)
          : clampTop(from + delta, rows, detailVisible);
    return stay({ ...state, detailTop: top });
  };
  const page = () => see(state).layout.detailVisible - 1;
  switch (cmd.type) {
    case 'back':
      return stay(state.zoom ? { ...state, zoom: false } : { ...state, openRunId: null });
    case 'tab':
      return stay({ ...state, pane: state.pane === 'detail' ? 'log' : 'detail' });
    case 'open':
      return stay({ ...state, pane: 'log' });
    case 'zoom':
      return stay({ ...state, zoom: !state.zoom });
    case 'follow':
      return log('toggleFollow');
    case 'left':
      return stay({ ...state, hOffset: Math.max(0, state.hOffset - HSTEP) });
    case 'right':
      return stay({ ...state, hOffset: state.hOffset + HSTEP });
    case 'up':
      return onLog ? log('up') : detail(-1);
    case 'down':
      return onLog ? log('down') : detail(1);
    case 'pageUp':
      return onLog ? log('pageUp') : detail(-page());
    case 'pageDown':
      return onLog ? log('pageDown') : detail(page());
    case 'top':
      return onLog ? log('home') : detail('top');
    case 'bottom':
      return onLog ? log('end') : detail('bottom');
    case 'approve':
    case 'apply':
    case 'cancel':
    case 'lock':
      return ask(state, cmd.type, see(state));
    case 'refresh':
      return { state, effects: [{ type: 'reload', run: true }] };
    default:
      return stay(state);
  }
}

function runsScreen(state: DashboardState, cmd: Command, see: See): Step {
  const view = see(state);
  const { query, deployments, environments } = view.data.runs;
  const select = (index: number): Step => {
    const i = Math.max(0, Math.min(index, view.runs.length - 1));
    return stay({ ...state, selectedIndex: i, selectedId: view.runs[i]?.id ?? null });
  };
  const setQuery = (q: RunsQuery): Step => ({ state, effects: [{ type: 'query', query: q }] });
  const page = Math.max(1, view.layout.contentHeight - 2);
  switch (cmd.type) {
    case 'up':
      return select(view.selected - 1);
    case 'down':
      return select(view.selected + 1);
    case 'pageUp':
      return select(view.selected - page);
    case 'pageDown':
      return select(view.selected + page);
    case 'top':
      return select(0);
    case 'bottom':
      return select(view.runs.length - 1);
    case 'open': {
      const run = view.selectedRun;
      if (!run) return stay(state);
      return stay({
        ...state,
        selectedId: run.id,
        openRunId: run.id,
        pane: 'detail',
        detailTop: 0,
        hOffset: 0,
        zoom: false,
      });
    }
    case 'search':
      return stay({ ...state, searching: true });
    case 'tab':
    case 'cycleGroup':
      return setQuery({ ...query, group: next(GROUP_ORDER, query.group) });
    case 'group':
      return setQuery({ ...query, group: cmd.group });
    case 'cycleDeployment':
      return setQuery({ ...query, deployment: next([null, ...deployments], query.deployment) });
    case 'cycleEnvironment':
      return setQuery({ ...query, environment: next([null, ...environments], query.environment) });
    case 'back':
      if (state.search) return stay({ ...state, search: '' });
      return setQuery({ ...query, deployment: null, environment: null });
    case 'approve':
    case 'apply':
    case 'cancel':
    case 'lock':
      return ask(state, cmd.type, view);
    case 'refresh':
      return { state, effects: [{ type: 'reload', run: false }] };
    default:
      return stay(state);
  }
}
