// The live list of runs: loaded through the core, kept current by the core's
// cross-process run notifications. A burst of changes becomes at most one
// refresh per `coalesceMs`; a few changed runs are fetched one by one and merged,
// many (or a resync after a reconnect) mean a full reload. A ping every second
// tells the header whether the database is reachable.

import type { RunChange } from '../../core/api/port.ts';
import type { RunView, Unsubscribe } from '../../core/api/types.ts';
import { errorMessage } from '../../core/errors.ts';
import { STATUS_GROUPS, type StatusGroup } from '../../core/lifecycle/statuses.ts';
import { type Coalescer, coalesce } from './coalesce.ts';
import type { TuiCore } from './port.ts';

export type RunsQuery = {
  readonly group: StatusGroup;
  readonly deployment: string | null;
  readonly environment: string | null;
};

export type RunsSnapshot = {
  readonly query: RunsQuery;
  /** Newest first, matching the query. */
  readonly runs: readonly RunView[];
  readonly loaded: boolean;
  /** The last load's error, cleared by the next good load. */
  readonly error: string | null;
  readonly connected: boolean;
  /** When the connection was found lost (epoch ms), while it is. */
  readonly lostSince: number | null;
  /** Deployment names and environments known from the config and the runs seen. */
  readonly deployments: readonly string[];
  readonly environments: readonly string[];
  /** Milliseconds the last full load took. */
  readonly lastLoadMs: number;
};

export type RunsStoreOptions = {
  readonly limit?: number;
  readonly coalesceMs?: number;
  readonly pingMs?: number;
  /** A full reload now and then keeps queue positions and the like right. */
  readonly fullRefreshMs?: number;
  /** More changed runs than this in one flush means a full reload instead. */
  readonly mergeMax?: number;
  readonly query?: RunsQuery;
};

export type ChangeListener = (change: RunChange | 'resync') => void;

export const DEFAULT_QUERY: RunsQuery = { group: 'all', deployment: null, environment: null };

export function matchesQuery(run: RunView, query: RunsQuery): boolean {
  return (
    (STATUS_GROUPS[query.group] as readonly string[]).includes(run.status) &&
    (query.deployment === null || run.deployment === query.deployment) &&
    (query.environment === null || run.environment === query.environment)
  );
}

// Parsed once per run: a merge sorts up to a thousand runs, and parsing the
// timestamps in the comparison was most of its time.
const createdTimes = new WeakMap<RunView, number>();

function createdMs(run: RunView): number {
  let t = createdTimes.get(run);
  if (t === undefined) {
    t = Date.parse(run.createdAt);
    createdTimes.set(run, t);
  }
  return t;
}

function newestFirst(a: RunView, b: RunView): number {
  const byTime = createdMs(b) - createdMs(a);
  return byTime !== 0 ? byTime : b.id < a.id ? -1 : b.id > a.id ? 1 : 0;
}

function sortedUnion(a: readonly string[], b: Iterable<string>): string[] {
  return [...new Set([...a, ...b])].sort();
}

export class RunsStore {
  private readonly core: TuiCore;
  private readonly limit: number;
  private readonly pingMs: number;
  private readonly fullRefreshMs: number;
  private readonly mergeMax: number;
  private readonly flusher: Coalescer;
  private snapshot: RunsSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly changeListeners = new Set<ChangeListener>();
  private pending = new Set<string>();
  private fullWanted = true;
  private unsubscribe: Unsubscribe | null = null;
  private subscribing = false;
  private pingTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private pinging = false;
  private closed = false;
  /** Bumped on a query change, so that a load for the old query is thrown away. */
  private generation = 0;

  constructor(core: TuiCore, options: RunsStoreOptions = {}) {
    this.core = core;
    this.limit = options.limit ?? 1000;
    this.pingMs = options.pingMs ?? 1000;
    this.fullRefreshMs = options.fullRefreshMs ?? 15_000;
    this.mergeMax = options.mergeMax ?? 20;
    this.flusher = coalesce(() => this.flush(), options.coalesceMs ?? 100);
    this.snapshot = {
      query: options.query ?? DEFAULT_QUERY,
      runs: [],
      loaded: false,
      error: null,
      connected: true,
      lostSince: null,
      deployments: [],
      environments: [],
      lastLoadMs: 0,
    };
  }

  /** Subscribes to changes, loads, and starts pinging. Never throws: errors land in the snapshot. */
  async start(): Promise<void> {
    await this.ensureSubscribed();
    try {
      const deployments = await this.core.listDeployments();
      this.update({
        deployments: sortedUnion(
          this.snapshot.deployments,
          deployments.map((d) => d.name),
        ),
        environments: sortedUnion(
          this.snapshot.environments,
          deployments.map((d) => d.environment),
        ),
      });
    } catch {
      // The names also come from the runs seen.
    }
    this.requestFull();
    await this.flusher.idle();
    this.pingTimer = setInterval(() => void this.pingOnce(), this.pingMs);
    this.pingTimer.unref?.();
    this.refreshTimer = setInterval(() => this.requestFull(), this.fullRefreshMs);
    this.refreshTimer.unref?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.flusher.stop();
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await this.flusher.idle();
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.().catch(() => {});
  }

  // ---- for React (useSyncExternalStore) -------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): RunsSnapshot => this.snapshot;

  /** Every run change (and 'resync' after a reconnect), for the run detail and log views. */
  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  setQuery(query: RunsQuery): void {
    const q = this.snapshot.query;
    if (
      q.group === query.group &&
      q.deployment === query.deployment &&
      q.environment === query.environment
    )
      return;
    this.generation++;
    // Keep what still matches on screen until the reload lands: no empty flash.
    this.update({ query, runs: this.snapshot.runs.filter((r) => matchesQuery(r, query)) });
    this.requestFull();
  }

  /** A reload of everything, e.g. on a key press or a resync. */
  requestFull(): void {
    this.fullWanted = true;
    this.flusher.request();
  }

  /** Puts a run the app already has (e.g. the result of an action) into the list now. */
  upsert(run: RunView): void {
    this.mergeRuns([run], [run.id]);
  }

  /** For tests and shutdown: resolves when no refresh is in flight. */
  idle(): Promise<void> {
    return this.flusher.idle();
  }

  // ---- internals -------------------------------------------------------------

  private update(patch: Partial<RunsSnapshot>) {
    if (this.closed) return;
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.listeners) l();
  }

  private async ensureSubscribed() {
    if (this.unsubscribe || this.subscribing || this.closed) return;
    this.subscribing = true;
    try {
      this.unsubscribe = await this.core.subscribeRuns(
        (change) => this.changed(change),
        () => this.resynced(),
      );
      if (this.closed) await this.unsubscribe().catch(() => {});
    } catch (error) {
      this.update({ error: `cannot listen for run changes: ${errorMessage(error)}` });
    } finally {
      this.subscribing = false;
    }
  }

  private changed(change: RunChange) {
    for (const l of this.changeListeners) l(change);
    this.pending.add(change.runId);
    this.flusher.request();
  }

  private resynced() {
    for (const l of this.changeListeners) l('resync');
    this.requestFull();
  }

  private async flush() {
    if (this.closed) return;
    const generation = this.generation;
    const ids = [...this.pending];
    this.pending = new Set();
    const full = this.fullWanted || ids.length > this.mergeMax;
    this.fullWanted = false;
    try {
      if (full) {
        const started = performance.now();
        const runs = await this.core.listRuns({
          statuses: STATUS_GROUPS[this.snapshot.query.group],
          deployment: this.snapshot.query.deployment ?? undefined,
          environment: this.snapshot.query.environment ?? undefined,
          limit: this.limit,
        });
        if (generation !== this.generation) return;
        this.update({
          runs,
          loaded: true,
          error: null,
          lastLoadMs: performance.now() - started,
          ...this.namesFrom(runs),
        });
      } else {
        const found: RunView[] = [];
        await Promise.all(
          ids.map(async (id) => {
            try {
              found.push(await this.core.getRun(id));
            } catch (error) {
              if ((error as { code?: string }).code !== 'unknown_run') throw error;
            }
          }),
        );
        if (generation !== this.generation) return;
        this.mergeRuns(found, ids);
      }
    } catch (error) {
      // Try again with the next event, ping recovery or periodic refresh.
      if (full) this.fullWanted = true;
      else for (const id of ids) this.pending.add(id);
      this.update({ error: errorMessage(error) });
    }
  }

  private mergeRuns(found: readonly RunView[], ids: readonly string[]) {
    const query = this.snapshot.query;
    const byId = new Map(found.map((r) => [r.id, r]));
    const touched = new Set(ids);
    let runs = this.snapshot.runs.filter((r) => !touched.has(r.id));
    const current = new Map(this.snapshot.runs.map((r) => [r.id, r]));
    const fresh: RunView[] = [];
    for (const id of ids) {
      const run = byId.get(id);
      const old = current.get(id);
      // A stale answer (an older version than shown) keeps what is shown.
      const best = run && old && old.version > run.version ? old : run;
      if (best && matchesQuery(best, query)) fresh.push(best);
    }
    if (fresh.length > 0) {
      runs = [...runs, ...fresh].sort(newestFirst).slice(0, this.limit);
    }
    this.update({ runs, error: null, ...this.namesFrom(fresh) });
  }

  private namesFrom(runs: readonly RunView[]): Partial<RunsSnapshot> {
    const deps = new Set(runs.map((r) => r.deployment));
    const envs = new Set(runs.map((r) => r.environment));
    const known = (list: readonly string[], seen: Set<string>) =>
      [...seen].every((n) => list.includes(n));
    if (known(this.snapshot.deployments, deps) && known(this.snapshot.environments, envs))
      return {};
    return {
      deployments: sortedUnion(this.snapshot.deployments, deps),
      environments: sortedUnion(this.snapshot.environments, envs),
    };
  }

  private async pingOnce() {
    if (this.pinging || this.closed) return;
    this.pinging = true;
    try {
      const ok = await this.core.ping(Math.max(500, this.pingMs * 1.5));
      if (this.closed) return;
      if (!ok && this.snapshot.connected) {
        this.update({ connected: false, lostSince: Date.now() });
      } else if (ok && !this.snapshot.connected) {
        this.update({ connected: true, lostSince: null });
        await this.ensureSubscribed();
        // Whatever happened meanwhile: reload (the listener's resync does too).
        this.resynced();
      } else if (ok && !this.unsubscribe) {
        await this.ensureSubscribed();
      }
    } finally {
      this.pinging = false;
    }
  }
}
