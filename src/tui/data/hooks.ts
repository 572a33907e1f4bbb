// React bindings of the data layer: each store is an external store.

import { useEffect, useState, useSyncExternalStore } from 'react';
import { type LogSnapshot, LogWindow, type LogWindowOptions } from './log-window.ts';
import type { TuiCore } from './port.ts';
import { type RunDetailSnapshot, RunDetailStore } from './run-detail.ts';
import type { RunsStore } from './runs-store.ts';

type External<T> = { subscribe(listener: () => void): () => void; getSnapshot(): T };

const noSubscribe = () => () => {};
const nothing = () => null;

export function useExternal<T>(store: External<T> | null): T | null {
  return useSyncExternalStore(
    store ? store.subscribe : noSubscribe,
    store ? store.getSnapshot : nothing,
  );
}

/** The opened run and its audit trail, live; null when no run is open. */
export function useRunDetail(
  core: TuiCore,
  runs: RunsStore,
  runId: string | null,
): { readonly store: RunDetailStore | null; readonly snapshot: RunDetailSnapshot | null } {
  const [store, setStore] = useState<RunDetailStore | null>(null);
  useEffect(() => {
    if (!runId) {
      setStore(null);
      return;
    }
    const s = new RunDetailStore(core, runs, runId);
    setStore(s);
    return () => s.close();
  }, [core, runs, runId]);
  const snapshot = useExternal(store);
  return { store, snapshot: snapshot && snapshot.runId === runId ? snapshot : null };
}

/** The log window of the opened run, following it; null when no run is open. */
export function useLogWindow(
  core: TuiCore,
  runs: RunsStore,
  runId: string | null,
  options: LogWindowOptions,
): { readonly window: LogWindow | null; readonly snapshot: LogSnapshot | null } {
  const [window, setWindow] = useState<LogWindow | null>(null);
  const { maxLines, pageSize } = options;
  useEffect(() => {
    if (!runId) {
      setWindow(null);
      return;
    }
    const w = new LogWindow(core, runId, { maxLines, pageSize, height: 10 });
    setWindow(w);
    void w.open();
    const stop = runs.onChange((change) => {
      if (change === 'resync') w.retry();
    });
    return () => {
      stop();
      void w.close();
    };
  }, [core, runs, runId, maxLines, pageSize]);
  const snapshot = useExternal(window);
  return { window, snapshot: snapshot && snapshot.runId === runId ? snapshot : null };
}
