// The dashboard: runs list and run screen (detail + live log), keys, actions
// behind a confirmation, the reconnecting banner and the help screen. Data comes
// from the stores in ./data; everything drawn comes from ./components.

import { Box, type Key, useApp, useInput, useWindowSize } from 'ink';
import {
  createElement as h,
  type ReactElement,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import type { Actor, RunView } from '../core/api/types.ts';
import { errorMessage, isRefusal } from '../core/errors.ts';
import { STATUS_TABLE, type StatusGroup } from '../core/lifecycle/statuses.ts';
import {
  Column,
  Footer,
  Header,
  type Hint,
  type Message,
  MessageLine,
  ReconnectBanner,
} from './components/chrome.ts';
import {
  type ActionKind,
  ConfirmDialog,
  DIALOG_HEIGHT,
  type Dialog,
} from './components/confirm.ts';
import { ErrorBoundary } from './components/error-boundary.ts';
import { HelpScreen } from './components/help.ts';
import { LogPane } from './components/log-pane.ts';
import type { Segment } from './components/row.ts';
import { type ActionHint, clampTop, DetailPane, detailRows } from './components/run-detail.ts';
import { RunsTable } from './components/runs-table.ts';
import { useExternal, useLogWindow, useRunDetail } from './data/hooks.ts';
import type { TuiCore } from './data/port.ts';
import type { RunsSnapshot, RunsStore } from './data/runs-store.ts';
import { type Command, commandFor, GROUP_LABELS, GROUP_ORDER, keyOf } from './keys.ts';
import type { Theme } from './theme.ts';

export type AppProps = {
  readonly core: TuiCore;
  readonly store: RunsStore;
  /** Who acts; null: read-only. */
  readonly actor: Actor | null;
  readonly theme: Theme;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  readonly size?: { readonly columns: number; readonly rows: number };
  /** The clock for ages (tests). */
  readonly clock?: () => number;
  readonly tickMs?: number;
  readonly logMaxLines?: number;
  readonly logPageSize?: number;
  /** Called on q; defaults to exiting the Ink app. */
  readonly onQuit?: () => void;
  /** Called when a component crashed (main writes it to stderr on exit with DEPLOY_DEBUG). */
  readonly onCrash?: (error: Error) => void;
};

export function App(props: AppProps): ReactElement {
  const { exit } = useApp();
  const terminal = useWindowSize();
  const size = props.size ?? terminal;
  const width = Math.max(20, size.columns);
  const height = Math.max(8, size.rows);
  const quit = props.onQuit ?? (() => exit());
  return h(
    ErrorBoundary,
    { width, height, theme: props.theme, onQuit: quit, onError: (e) => props.onCrash?.(e) },
    h(Dashboard, { ...props, width, height, quit }),
  );
}

type DashboardProps = AppProps & {
  readonly width: number;
  readonly height: number;
  readonly quit: () => void;
};

type Pane = 'detail' | 'log';

const HSTEP = 8;

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
  }
}

export function availableActions(run: RunView | undefined, actor: Actor | null): ActionHint[] {
  if (!run || !actor) return [];
  const hints: ActionHint[] = [];
  if (!actionBlocker('approve', run)) hints.push({ key: 'a', label: 'approve plan' });
  if (!actionBlocker('apply', run))
    hints.push({ key: 'x', label: run.kind === 'destroy' ? 'destroy' : 'apply' });
  if (!actionBlocker('cancel', run)) hints.push({ key: 'c', label: 'cancel' });
  return hints;
}

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

function next<T>(list: readonly T[], current: T): T {
  const i = list.indexOf(current);
  return list[(i + 1) % list.length] ?? current;
}

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

/** State with a ref that is current at once, for keys handled before the next render. */
function useLatest<T>(initial: T): [T, (value: T) => void, { readonly current: T }] {
  const [value, setValue] = useState(initial);
  const ref = useRef(value);
  ref.current = value;
  const set = useCallback((v: T) => {
    ref.current = v;
    setValue(v);
  }, []);
  return [value, set, ref];
}

function Dashboard(props: DashboardProps): ReactElement {
  const { core, store, actor, theme, width, height } = props;
  const clock = props.clock ?? Date.now;
  const runsSnap = useExternal(store) as RunsSnapshot;
  const [now, setNow] = useState(clock);
  const [openRunId, setOpenRunId, openRef] = useLatest<string | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [selectedIndex, setSelectedIndex] = useState(0);
  const [search, setSearch, searchRef] = useLatest('');
  const [searching, setSearching, searchingRef] = useLatest(false);
  const [pane, setPaneState] = useState<Pane>('detail');
  // Keys that arrive together (tab then g) must see each other's effect at once.
  const paneRef = useRef<Pane>(pane);
  const setPane = (p: Pane) => {
    paneRef.current = p;
    setPaneState(p);
  };
  const [zoom, setZoom] = useState(false);
  const [detailTop, setDetailTop] = useState(0);
  const [hOffset, setHOffset] = useState(0);
  const [help, setHelp, helpRef] = useLatest(false);
  const [dialog, setDialog, dialogRef] = useLatest<Dialog | null>(null);
  const [message, setMessage] = useState<Message | null>(null);

  useEffect(() => {
    const timer = setInterval(() => setNow(clock()), props.tickMs ?? 1000);
    return () => clearInterval(timer);
  }, [clock, props.tickMs]);

  const detail = useRunDetail(core, store, openRunId);
  const log = useLogWindow(core, store, openRunId, {
    maxLines: props.logMaxLines,
    pageSize: props.logPageSize,
  });

  // ---- what is shown ---------------------------------------------------------

  const runs = useMemo(() => searchRuns(runsSnap.runs, search), [runsSnap.runs, search]);
  const found = selectedId === null ? -1 : runs.findIndex((r) => r.id === selectedId);
  const selected = found >= 0 ? found : Math.min(selectedIndex, Math.max(0, runs.length - 1));
  const selectedRun: RunView | undefined = runs[selected];
  // Several keys can arrive in one read: each must see the previous one's effect.
  const cursor = useRef(selected);
  cursor.current = selected;
  const openRun: RunView | undefined =
    openRunId === null
      ? undefined
      : (detail.snapshot?.run ?? runsSnap.runs.find((r) => r.id === openRunId) ?? undefined);
  const target = openRunId !== null ? openRun : selectedRun;
  const actions = useMemo(() => availableActions(target, actor), [target, actor]);

  const banner = !runsSnap.connected && runsSnap.lostSince !== null;
  const dialogExtra = dialog ? DIALOG_HEIGHT - 2 : 0;
  const contentHeight = Math.max(2, height - 1 - (banner ? 1 : 0) - 2 - dialogExtra);

  // Run screen geometry.
  const sideBySide = width >= 140 && !zoom;
  const detailWidth = sideBySide ? Math.floor(width * 0.45) : width;
  const logWidth = sideBySide ? width - detailWidth - 1 : width;
  let detailHeight: number;
  let logHeight: number;
  if (zoom) {
    detailHeight = pane === 'detail' ? contentHeight : 0;
    logHeight = pane === 'log' ? contentHeight : 0;
  } else if (sideBySide) {
    detailHeight = contentHeight;
    logHeight = contentHeight;
  } else {
    detailHeight = Math.max(4, Math.floor(contentHeight * 0.45));
    logHeight = contentHeight - detailHeight;
  }
  const logWindow = log.window;
  useEffect(() => {
    logWindow?.setHeight(Math.max(1, logHeight - 1));
  }, [logWindow, logHeight]);

  const rows = useMemo(
    () =>
      openRun
        ? detailRows(openRun, detail.snapshot?.transitions ?? [], detailWidth, now, theme, actions)
        : [],
    [openRun, detail.snapshot?.transitions, detailWidth, now, theme, actions],
  );
  const detailVisible = Math.max(1, detailHeight - 1);
  const shownDetailTop = clampTop(detailTop, rows.length, detailVisible);

  // ---- actions ---------------------------------------------------------------

  const ask = useCallback(
    (action: ActionKind, run: RunView | undefined) => {
      if (!run) {
        setMessage({ kind: 'info', text: 'select a run first' });
        return;
      }
      if (!actor) {
        setMessage({
          kind: 'info',
          text: 'read-only: set DEPLOY_TUI_USER to your Slack user id (or start with --as U…) to act',
        });
        return;
      }
      const blocker = actionBlocker(action, run);
      if (blocker) {
        setMessage({ kind: 'info', text: blocker });
        return;
      }
      setMessage(null);
      setDialog({ action, run, reason: '', busy: false });
    },
    [actor],
  );

  const perform = useCallback(
    async (d: Dialog) => {
      if (!actor) return;
      setDialog({ ...d, busy: true });
      const id = d.run.id;
      try {
        const planId = d.run.plan?.id;
        const result =
          d.action === 'approve'
            ? await core.approvePlan(id, actor, { planId })
            : d.action === 'apply'
              ? await core.confirmApply(id, actor, { planId })
              : await core.cancelRun(id, actor, { reason: d.reason.trim() || undefined });
        store.upsert(result);
        detail.store?.put(result);
        const done =
          d.action === 'approve'
            ? 'plan approved'
            : d.action === 'apply'
              ? 'confirmed'
              : 'cancelled';
        setMessage({
          kind: 'success',
          text: `${done}: ${id} is now ${result.statusLabel.toLowerCase()}`,
        });
      } catch (error) {
        setMessage(
          isRefusal(error)
            ? { kind: 'error', text: `refused: ${error.message}` }
            : { kind: 'error', text: `${d.action} failed: ${errorMessage(error)}` },
        );
      } finally {
        setDialog(null);
      }
    },
    [actor, core, store, detail.store],
  );

  // ---- keys ------------------------------------------------------------------

  const select = (index: number) => {
    const i = Math.max(0, Math.min(index, runs.length - 1));
    cursor.current = i;
    setSelectedIndex(i);
    setSelectedId(runs[i]?.id ?? null);
  };

  const setGroup = (group: StatusGroup) => store.setQuery({ ...runsSnap.query, group });

  const runScreen = (cmd: Command) => {
    const scrollDetail = (delta: number) =>
      setDetailTop((top) =>
        clampTop(clampTop(top, rows.length, detailVisible) + delta, rows.length, detailVisible),
      );
    const onLog = paneRef.current === 'log';
    switch (cmd.type) {
      case 'back':
        if (zoom) setZoom(false);
        else {
          setOpenRunId(null);
          setZoom(false);
        }
        return;
      case 'tab':
        setPane(paneRef.current === 'detail' ? 'log' : 'detail');
        return;
      case 'open':
        setPane('log');
        return;
      case 'zoom':
        setZoom((z) => !z);
        return;
      case 'follow':
        logWindow?.toggleFollow();
        return;
      case 'left':
        setHOffset((x) => Math.max(0, x - HSTEP));
        return;
      case 'right':
        setHOffset((x) => x + HSTEP);
        return;
      case 'up':
        if (onLog) logWindow?.scroll(-1);
        else scrollDetail(-1);
        return;
      case 'down':
        if (onLog) logWindow?.scroll(1);
        else scrollDetail(1);
        return;
      case 'pageUp':
        if (onLog) logWindow?.pageUp();
        else scrollDetail(-(detailVisible - 1));
        return;
      case 'pageDown':
        if (onLog) logWindow?.pageDown();
        else scrollDetail(detailVisible - 1);
        return;
      case 'top':
        if (onLog) logWindow?.home();
        else setDetailTop(0);
        return;
      case 'bottom':
        if (onLog) logWindow?.end();
        else setDetailTop(Math.max(0, rows.length - detailVisible));
        return;
      case 'approve':
      case 'apply':
      case 'cancel':
        // The run opened by a key in the same chunk may not be drawn yet.
        ask(
          cmd.type,
          openRun ??
            runsSnap.runs.find((r) => r.id === openRef.current) ??
            (detail.snapshot?.runId === openRef.current
              ? (detail.snapshot?.run ?? undefined)
              : undefined),
        );
        return;
      case 'refresh':
        detail.store?.refresh();
        logWindow?.retry();
        store.requestFull();
        return;
      default:
        return;
    }
  };

  const runsScreen = (cmd: Command) => {
    const page = Math.max(1, contentHeight - 2);
    switch (cmd.type) {
      case 'up':
        select(cursor.current - 1);
        return;
      case 'down':
        select(cursor.current + 1);
        return;
      case 'pageUp':
        select(cursor.current - page);
        return;
      case 'pageDown':
        select(cursor.current + page);
        return;
      case 'top':
        select(0);
        return;
      case 'bottom':
        select(runs.length - 1);
        return;
      case 'open':
        if (selectedRun) {
          setSelectedId(selectedRun.id);
          setOpenRunId(selectedRun.id);
          setPane('detail');
          setDetailTop(0);
          setHOffset(0);
          setZoom(false);
        }
        return;
      case 'search':
        setSearching(true);
        return;
      case 'tab':
      case 'cycleGroup':
        setGroup(next(GROUP_ORDER, runsSnap.query.group));
        return;
      case 'group':
        setGroup(cmd.group);
        return;
      case 'cycleDeployment':
        store.setQuery({
          ...runsSnap.query,
          deployment: next([null, ...runsSnap.deployments], runsSnap.query.deployment),
        });
        return;
      case 'cycleEnvironment':
        store.setQuery({
          ...runsSnap.query,
          environment: next([null, ...runsSnap.environments], runsSnap.query.environment),
        });
        return;
      case 'back':
        if (search) setSearch('');
        else store.setQuery({ ...runsSnap.query, deployment: null, environment: null });
        return;
      case 'approve':
      case 'apply':
      case 'cancel':
        ask(cmd.type, selectedRun);
        return;
      case 'refresh':
        store.requestFull();
        return;
      default:
        return;
    }
  };

  const handleKey = (input: string, key: Key) => {
    if (helpRef.current) {
      setHelp(false);
      return;
    }
    const dialog = dialogRef.current;
    if (dialog) {
      if (dialog.busy) return;
      if (dialog.action === 'cancel') {
        if (key.escape) setDialog(null);
        else if (key.return) void perform(dialog);
        else if (key.backspace || key.delete)
          setDialog({ ...dialog, reason: [...dialog.reason].slice(0, -1).join('') });
        else if (isPrintable(input, key))
          setDialog({ ...dialog, reason: (dialog.reason + input).slice(0, 200) });
        return;
      }
      if (input === 'y' || input === 'Y') void perform(dialog);
      else if (input === 'n' || input === 'N' || key.escape || input === 'q') setDialog(null);
      return;
    }
    if (searchingRef.current) {
      const search = searchRef.current;
      if (key.escape) {
        setSearch('');
        setSearching(false);
      } else if (key.return || key.downArrow || key.upArrow) {
        setSearching(false);
      } else if (key.backspace || key.delete) {
        setSearch([...search].slice(0, -1).join(''));
      } else if (key.ctrl && input === 'u') {
        setSearch('');
      } else if (isPrintable(input, key)) {
        setSearch(search + input);
        setSelectedId(null);
        setSelectedIndex(0);
      }
      return;
    }
    const cmd = commandFor(input, key);
    if (!cmd) return;
    if (cmd.type !== 'help') setMessage(null);
    if (cmd.type === 'quit') {
      props.quit();
      return;
    }
    if (cmd.type === 'help') {
      setHelp(true);
      return;
    }
    if (openRef.current !== null) runScreen(cmd);
    else runsScreen(cmd);
  };

  useInput((input, key) => {
    // Keys typed faster than they are read come in one chunk (as a paste does):
    // take them one by one.
    if (input.length > 1 && !input.startsWith('\u001b') && !key.ctrl && !key.meta) {
      for (const ch of input) handleKey(ch, keyOf(ch));
    } else {
      handleKey(input, key);
    }
  });

  // ---- drawing ---------------------------------------------------------------

  if (help) return h(HelpScreen, { width, height, actor: actor?.id ?? null, theme });

  const lines: ReactElement[] = [];
  const q = runsSnap.query;
  if (openRunId === null) {
    // Only the filters that are set, so that the header stays short.
    const context: Segment[] = [
      { text: 'status: ', dim: true },
      { text: GROUP_LABELS[q.group], bold: true },
      ...(q.deployment
        ? [
            { text: '  deployment: ', dim: true },
            { text: q.deployment, bold: true },
          ]
        : []),
      ...(q.environment
        ? [
            { text: '  env: ', dim: true },
            { text: q.environment, bold: true },
          ]
        : []),
      ...(search
        ? [
            { text: '  search: ', dim: true },
            { text: search, bold: true, color: theme.c('accent') },
          ]
        : []),
    ];
    const count = !runsSnap.loaded
      ? 'loading…'
      : runs.length === runsSnap.runs.length
        ? `${runs.length} runs`
        : `${runs.length} of ${runsSnap.runs.length} runs`;
    lines.push(
      h(Header, { key: 'header', width, theme, actor: actor?.id ?? null, context, right: count }),
    );
  } else {
    const r = openRun;
    const context: Segment[] = r
      ? [
          { text: r.id, bold: true, color: theme.c('accent') },
          { text: '  ' },
          {
            text: `${STATUS_TABLE[r.status].symbol} ${STATUS_TABLE[r.status].label}`,
            color: theme.status(r.status),
            bold: true,
          },
          { text: `  ${r.kind === 'destroy' ? 'DESTROY ' : ''}${r.deployment} (${r.environment})` },
        ]
      : [{ text: openRunId, bold: true }];
    lines.push(
      h(Header, {
        key: 'header',
        width,
        theme,
        actor: actor?.id ?? null,
        context,
        right: 'esc back',
      }),
    );
  }
  if (banner && runsSnap.lostSince !== null) {
    lines.push(
      h(ReconnectBanner, { key: 'banner', width, theme, lostSince: runsSnap.lostSince, now }),
    );
  }

  if (openRunId === null) {
    const emptyText = !runsSnap.loaded
      ? 'loading…'
      : search
        ? `nothing matches "${search}" (esc clears the search)`
        : runsSnap.runs.length === 0 && q.group === 'all' && !q.deployment && !q.environment
          ? 'no runs yet: start one with deploy-bot execute NAME (or from Slack)'
          : `no ${GROUP_LABELS[q.group]} runs${q.deployment ? ` of ${q.deployment}` : ''}${q.environment ? ` in ${q.environment}` : ''}: press 4 for all`;
    lines.push(
      h(RunsTable, {
        key: 'table',
        runs,
        selected,
        width,
        height: contentHeight,
        now,
        theme,
        emptyText,
      }),
    );
  } else if (sideBySide) {
    lines.push(
      h(
        Box,
        { key: 'panes', flexDirection: 'row', width, height: contentHeight },
        h(DetailPane, {
          rows,
          top: shownDetailTop,
          width: detailWidth,
          height: detailHeight,
          focused: pane === 'detail',
          title: 'Run',
          theme,
        }),
        h(Box, { width: 1, height: contentHeight }),
        log.snapshot
          ? h(LogPane, {
              log: log.snapshot,
              width: logWidth,
              height: logHeight,
              focused: pane === 'log',
              hOffset,
              theme,
            })
          : h(Box, { width: logWidth, height: logHeight }),
      ),
    );
  } else {
    if (detailHeight > 0) {
      lines.push(
        h(DetailPane, {
          key: 'detail',
          rows,
          top: shownDetailTop,
          width,
          height: detailHeight,
          focused: pane === 'detail',
          title: 'Run',
          theme,
        }),
      );
    }
    if (logHeight > 0) {
      lines.push(
        log.snapshot
          ? h(LogPane, {
              key: 'log',
              log: log.snapshot,
              width,
              height: logHeight,
              focused: pane === 'log',
              hOffset,
              theme,
            })
          : h(Box, { key: 'log', width, height: logHeight }),
      );
    }
  }

  if (dialog) {
    lines.push(h(ConfirmDialog, { key: 'dialog', dialog, width, theme }));
  } else {
    let idle: Segment[] = [];
    if (searching) {
      idle = [
        { text: '/', bold: true, color: theme.c('accent') },
        { text: `${search}▏`, bold: true },
        { text: '   enter done · esc clear', dim: true },
      ];
    } else if (runsSnap.error && runsSnap.connected) {
      idle = [{ text: `cannot load runs: ${runsSnap.error}`, color: theme.c('danger') }];
    } else if (openRunId === null && detail.snapshot === null && selectedRun) {
      const info = STATUS_TABLE[selectedRun.status];
      if (info.action !== 'none')
        idle = [{ text: `${selectedRun.id}: `, dim: true }, { text: info.action }];
    } else if (detail.snapshot?.error) {
      idle = [{ text: `cannot load the run: ${detail.snapshot.error}`, color: theme.c('danger') }];
    }
    lines.push(
      h(MessageLine, { key: 'message', width, theme, message: searching ? null : message, idle }),
    );
    lines.push(
      h(Footer, {
        key: 'footer',
        width,
        theme,
        hints: footerHints(openRunId !== null, actions, pane),
      }),
    );
  }
  return h(Column, { width, height, children: lines });
}

function footerHints(runOpen: boolean, actions: readonly ActionHint[], pane: Pane): Hint[] {
  const acts = actions.map((a) => ({ key: a.key, label: a.label }));
  if (runOpen) {
    return [
      ...acts,
      { key: 'tab', label: pane === 'detail' ? 'log' : 'detail' },
      { key: 'esc', label: 'back' },
      { key: '?', label: 'help' },
      { key: 'q', label: 'quit' },
      { key: 'f', label: 'follow' },
      { key: 'g/G', label: 'top/end' },
      { key: 'z', label: 'zoom' },
    ];
  }
  return [
    { key: '⏎', label: 'open' },
    ...acts,
    { key: '?', label: 'help' },
    { key: 'q', label: 'quit' },
    { key: '/', label: 'search' },
    { key: 's', label: 'status' },
    { key: 'd/e', label: 'deployment/env' },
  ];
}
