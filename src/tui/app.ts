// The dashboard: runs list and run screen (detail + live log), keys, actions
// behind a confirmation, the reconnecting banner and the help screen. State and
// keys live in ./state (a reducer), data in ./data, what is drawn in ./components:
// this file only draws.

import { Box, useApp, useInput, useWindowSize } from 'ink';
import {
  createElement as h,
  type ReactElement,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { Actor } from '../core/api/types.ts';
import { STATUS_TABLE } from '../core/lifecycle/statuses.ts';
import { performAction } from './actions.ts';
import {
  Column,
  Footer,
  Header,
  type Hint,
  MessageLine,
  ReconnectBanner,
} from './components/chrome.ts';
import { ConfirmDialog } from './components/confirm.ts';
import { ErrorBoundary } from './components/error-boundary.ts';
import { HelpScreen } from './components/help.ts';
import { LogPane } from './components/log-pane.ts';
import type { Segment } from './components/row.ts';
import { type ActionHint, clampTop, DetailPane, detailRows } from './components/run-detail.ts';
import { RunsTable } from './components/runs-table.ts';
import { useExternal, useLogWindow, useRunDetail } from './data/hooks.ts';
import type { LogWindow } from './data/log-window.ts';
import type { TuiCore } from './data/port.ts';
import type { RunsSnapshot, RunsStore } from './data/runs-store.ts';
import { GROUP_LABELS, keyOf } from './keys.ts';
import type { Effect, LogOp, Pane, See } from './state/dashboard.ts';
import { DashboardStore } from './state/store.ts';
import { availableActions, type DashboardData, viewOf } from './state/view.ts';
import type { Theme } from './theme.ts';

export { actionBlocker, availableActions, searchRuns } from './state/view.ts';

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

function runLogOp(window: LogWindow | null, op: LogOp): void {
  if (!window) return;
  if (op === 'up') window.scroll(-1);
  else if (op === 'down') window.scroll(1);
  else if (op === 'toggleFollow') window.toggleFollow();
  else window[op]();
}

function Dashboard(props: DashboardProps): ReactElement {
  const { core, store, actor, theme, width, height } = props;
  const clock = props.clock ?? Date.now;
  const runsSnap = useExternal(store) as RunsSnapshot;
  const [now, setNow] = useState(clock);

  useEffect(() => {
    const timer = setInterval(() => setNow(clock()), props.tickMs ?? 1000);
    return () => clearInterval(timer);
  }, [clock, props.tickMs]);

  // The reducer reads the data of the latest render, and its effects reach the
  // stores of the latest render, through these.
  const latest = useRef<{ see: See; run: (effect: Effect) => void } | null>(null);
  const [ui] = useState(
    () =>
      new DashboardStore(
        () => (s) => (latest.current as { see: See }).see(s),
        (effect) => latest.current?.run(effect),
      ),
  );
  const state = useSyncExternalStore(ui.subscribe, ui.getSnapshot);
  const { openRunId, search, searching, pane, hOffset, help, dialog, message } = state;

  const detail = useRunDetail(core, store, openRunId);
  const log = useLogWindow(core, store, openRunId, {
    maxLines: props.logMaxLines,
    pageSize: props.logPageSize,
  });

  const transitions = detail.snapshot?.transitions;
  const evaluations = detail.snapshot?.evaluations;
  const data: DashboardData = {
    runs: runsSnap,
    detail: detail.snapshot,
    actor,
    width,
    height,
    detailRowCount: (run, w) =>
      detailRows(
        run,
        transitions ?? [],
        w,
        now,
        theme,
        availableActions(run, actor),
        evaluations ?? [],
      ).length,
  };
  const view = viewOf(state, data);
  const { runs, selected, selectedRun, openRun, target, layout } = view;
  // One array per target and actor, so that the detail rows are not redrawn per frame.
  const actions = useMemo(() => availableActions(target, actor), [target, actor]);
  const { banner, contentHeight, sideBySide, detailWidth, logWidth, detailHeight, logHeight } =
    layout;

  const logWindow = log.window;
  latest.current = {
    see: (s) => viewOf(s, data),
    run: (effect) => {
      switch (effect.type) {
        case 'quit':
          props.quit();
          return;
        case 'query':
          store.setQuery(effect.query);
          return;
        case 'log':
          runLogOp(logWindow, effect.op);
          return;
        case 'reload':
          if (effect.run) {
            detail.store?.refresh();
            logWindow?.retry();
          }
          store.requestFull();
          return;
        case 'perform': {
          if (!actor) return;
          const detailStore = detail.store;
          void performAction(core, actor, effect.dialog).then((outcome) => {
            if (outcome.run) {
              store.upsert(outcome.run);
              detailStore?.put(outcome.run);
            }
            ui.dispatch({ type: 'performed', message: outcome.message });
          });
          return;
        }
      }
    },
  };

  useEffect(() => {
    logWindow?.setHeight(Math.max(1, logHeight - 1));
  }, [logWindow, logHeight]);

  const rows = useMemo(
    () =>
      openRun
        ? detailRows(
            openRun,
            transitions ?? [],
            detailWidth,
            now,
            theme,
            actions,
            evaluations ?? [],
          )
        : [],
    [openRun, transitions, evaluations, detailWidth, now, theme, actions],
  );
  const shownDetailTop = clampTop(state.detailTop, rows.length, layout.detailVisible);

  useInput((input, key) => {
    // Keys typed faster than they are read come in one chunk (as a paste does):
    // take them one by one.
    if (input.length > 1 && !input.startsWith('\u001b') && !key.ctrl && !key.meta) {
      for (const ch of input) ui.dispatch({ type: 'key', input: ch, key: keyOf(ch) });
    } else {
      ui.dispatch({ type: 'key', input, key });
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
