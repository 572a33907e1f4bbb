// One run with its audit trail, reloaded when the run changes (from any process).

import type { PolicyEvaluationView, RunView, TransitionView } from '../../core/api/types.ts';
import { errorMessage } from '../../core/errors.ts';
import { type Coalescer, coalesce } from './coalesce.ts';
import type { TuiCore } from './port.ts';
import type { RunsStore } from './runs-store.ts';

export type RunDetailSnapshot = {
  readonly runId: string;
  readonly run: RunView | null;
  readonly transitions: readonly TransitionView[];
  /** Each evaluation of the run's rules (the audit's other half). */
  readonly evaluations: readonly PolicyEvaluationView[];
  readonly loading: boolean;
  readonly error: string | null;
};

export class RunDetailStore {
  private readonly core: TuiCore;
  private readonly loader: Coalescer;
  private snapshot: RunDetailSnapshot;
  private readonly listeners = new Set<() => void>();
  private stopListening: (() => void) | null = null;
  private closed = false;

  constructor(
    core: TuiCore,
    runs: RunsStore | null,
    runId: string,
    options: { coalesceMs?: number } = {},
  ) {
    this.core = core;
    this.snapshot = {
      runId,
      run: null,
      transitions: [],
      evaluations: [],
      loading: true,
      error: null,
    };
    this.loader = coalesce(() => this.load(), options.coalesceMs ?? 100);
    this.stopListening =
      runs?.onChange((change) => {
        if (change === 'resync' || change.runId === runId) this.loader.request();
      }) ?? null;
    this.loader.request();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): RunDetailSnapshot => this.snapshot;

  refresh(): void {
    this.loader.request();
  }

  /** Shows a run the app already has (the answer to an action) at once. */
  put(run: RunView): void {
    if (run.id !== this.snapshot.runId) return;
    if (this.snapshot.run && this.snapshot.run.version > run.version) return;
    this.update({ run });
    this.loader.request();
  }

  idle(): Promise<void> {
    return this.loader.idle();
  }

  close(): void {
    this.closed = true;
    this.loader.stop();
    this.stopListening?.();
    this.stopListening = null;
  }

  private update(patch: Partial<RunDetailSnapshot>) {
    if (this.closed) return;
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.listeners) l();
  }

  private async load() {
    const runId = this.snapshot.runId;
    try {
      const [run, transitions, evaluations] = await Promise.all([
        this.core.getRun(runId),
        this.core.transitions(runId),
        this.core.policyEvaluations(runId),
      ]);
      this.update({ run, transitions, evaluations, loading: false, error: null });
    } catch (error) {
      this.update({ loading: false, error: errorMessage(error) });
    }
  }
}
