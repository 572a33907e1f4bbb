// An in-memory stand-in for the core API, for deploy-tui tests of states a real
// database cannot easily be put in (a lost connection, a million log lines, a
// thousand runs). Behaviour the dashboard relies on is kept: filters, newest
// first, readLogs' afterId/beforeId/tail/limit, follow from afterId, refusals.

import type { RunChange } from '../../src/core/api/core.ts';
import type {
  Actor,
  LockTarget,
  LockView,
  LogLine,
  PolicyEvaluationView,
  RunFilter,
  RunView,
  TransitionView,
  Unsubscribe,
} from '../../src/core/api/types.ts';
import { Refusal } from '../../src/core/errors.ts';
import type { TuiCore } from '../../src/tui/data/port.ts';
import { makeRun } from './run-fixtures.ts';

type Follower = { runId: string; cursor: number; onLines: (lines: LogLine[]) => void };

export class FakeCore implements TuiCore {
  runs: RunView[] = [];
  transitionsOf = new Map<string, TransitionView[]>();
  evaluationsOf = new Map<string, PolicyEvaluationView[]>();
  /** Log lines per run, generated lazily when `logSize` is set for the run. */
  logs = new Map<string, LogLine[]>();
  pingOk = true;
  calls: string[] = [];
  /** Sets a refusal for the next action. */
  refuseWith: Refusal | null = null;
  private runListeners: {
    onChange: (c: RunChange) => void;
    onResync?: (() => void) | undefined;
  }[] = [];
  private followers: Follower[] = [];
  private nextLogId = 1;
  listDelayMs = 0;

  addRun(overrides: Partial<RunView> = {}): RunView {
    const run = makeRun(overrides);
    this.runs.unshift(run);
    return run;
  }

  /** Replaces a run and announces the change, as a NOTIFY would. */
  changeRun(id: string, patch: Partial<RunView>): RunView {
    const i = this.runs.findIndex((r) => r.id === id);
    if (i < 0) throw new Error(`no run ${id}`);
    const old = this.runs[i]!;
    const run = { ...old, ...patch, version: old.version + 1 };
    this.runs[i] = run;
    for (const l of this.runListeners)
      l.onChange({
        runId: id,
        version: run.version,
        status: run.status,
        deployment: run.deployment,
      });
    return run;
  }

  announce(run: RunView) {
    for (const l of this.runListeners)
      l.onChange({
        runId: run.id,
        version: run.version,
        status: run.status,
        deployment: run.deployment,
      });
  }

  resync() {
    for (const l of this.runListeners) l.onResync?.();
  }

  /** Appends lines to a run's log and wakes its followers. */
  writeLog(runId: string, texts: readonly string[], stream: LogLine['stream'] = 'stdout') {
    const log = this.logs.get(runId) ?? [];
    this.logs.set(runId, log);
    for (const line of texts) {
      log.push({
        id: this.nextLogId++,
        runId,
        phase: 'plan',
        stream,
        line,
        at: new Date().toISOString(),
      });
    }
    for (const f of this.followers.filter((x) => x.runId === runId)) {
      const fresh = log.filter((l) => l.id > f.cursor);
      if (fresh.length > 0) {
        f.cursor = fresh.at(-1)!.id;
        f.onLines(fresh);
      }
    }
  }

  /** A big log without a big array of objects per call: lines are made on reading. */
  bigLog(runId: string, count: number) {
    const lines: LogLine[] = new Array(count);
    const at = new Date().toISOString();
    for (let i = 0; i < count; i++) {
      lines[i] = {
        id: this.nextLogId++,
        runId,
        phase: 'execute',
        stream: 'stdout',
        line: `line ${i + 1}`,
        at,
      };
    }
    this.logs.set(runId, lines);
  }

  async listRuns(filter: RunFilter = {}): Promise<RunView[]> {
    this.calls.push('listRuns');
    if (this.listDelayMs) await new Promise((r) => setTimeout(r, this.listDelayMs));
    if (!this.pingOk) throw new Error('connection refused');
    return this.runs
      .filter(
        (r) =>
          (!filter.statuses || filter.statuses.includes(r.status)) &&
          (!filter.deployment || r.deployment === filter.deployment) &&
          (!filter.environment || r.environment === filter.environment),
      )
      .slice(0, filter.limit ?? 50);
  }

  async getRun(runId: string): Promise<RunView> {
    this.calls.push(`getRun:${runId}`);
    if (!this.pingOk) throw new Error('connection refused');
    const run = this.runs.find((r) => r.id === runId);
    if (!run) throw new Refusal('unknown_run', `there is no run ${runId}: check the id`);
    return run;
  }

  async policyEvaluations(runId: string): Promise<PolicyEvaluationView[]> {
    return this.evaluationsOf.get(runId) ?? [];
  }

  async transitions(runId: string): Promise<TransitionView[]> {
    return this.transitionsOf.get(runId) ?? [];
  }

  async readLogs(
    runId: string,
    options: { afterId?: number; limit?: number; tail?: number; beforeId?: number } = {},
  ): Promise<LogLine[]> {
    this.calls.push(`readLogs:${JSON.stringify(options)}`);
    const limit = Math.min(options.limit ?? options.tail ?? 1000, 10_000);
    const log = this.logs.get(runId) ?? [];
    // Lines are in id order: binary search the bounds.
    const lowerBound = (id: number) => {
      let lo = 0;
      let hi = log.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (log[mid]!.id <= id) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const start = options.afterId !== undefined ? lowerBound(options.afterId) : 0;
    const end = options.beforeId !== undefined ? lowerBound(options.beforeId - 1) : log.length;
    const newestFirst = options.tail !== undefined || options.beforeId !== undefined;
    return newestFirst
      ? log.slice(Math.max(start, end - limit), end)
      : log.slice(start, Math.min(end, start + limit));
  }

  async countLogLines(runId: string): Promise<number> {
    return this.logs.get(runId)?.length ?? 0;
  }

  async followLogs(
    runId: string,
    onLines: (lines: LogLine[], skipped: number) => void,
    options: { afterId?: number; keepNewest?: number } = {},
  ): Promise<Unsubscribe> {
    const f: Follower = {
      runId,
      cursor: options.afterId ?? 0,
      onLines: (lines) => onLines(lines, 0),
    };
    this.followers.push(f);
    return async () => {
      this.followers = this.followers.filter((x) => x !== f);
    };
  }

  get followerCount() {
    return this.followers.length;
  }

  async subscribeRuns(
    onChange: (change: RunChange) => void,
    onResync?: () => void,
  ): Promise<Unsubscribe> {
    const l = { onChange, onResync };
    this.runListeners.push(l);
    return async () => {
      this.runListeners = this.runListeners.filter((x) => x !== l);
    };
  }

  private act(runId: string, actor: Actor, what: string, patch: Partial<RunView>): RunView {
    this.calls.push(`${what}:${runId}:${actor.id}:${actor.via}`);
    if (this.refuseWith) {
      const r = this.refuseWith;
      this.refuseWith = null;
      throw r;
    }
    return this.changeRun(runId, patch);
  }

  async approvePlan(runId: string, actor: Actor): Promise<RunView> {
    return this.act(runId, actor, 'approve', {
      status: 'awaiting_apply_approval',
      statusLabel: 'Awaiting apply approval',
    });
  }

  async confirmApply(runId: string, actor: Actor): Promise<RunView> {
    return this.act(runId, actor, 'apply', {
      status: 'applying',
      statusLabel: 'Applying',
      currentPhase: 'execute',
    });
  }

  async cancelRun(
    runId: string,
    actor: Actor,
    options: { reason?: string | undefined } = {},
  ): Promise<RunView> {
    return this.act(runId, actor, `cancel(${options.reason ?? ''})`, {
      status: 'cancelled',
      statusLabel: 'Cancelled',
      currentPhase: null,
      finishedAt: new Date().toISOString(),
      cancel: { by: actor.id, reason: options.reason ?? 'cancelled by request' },
    });
  }

  async ping(): Promise<boolean> {
    return this.pingOk;
  }

  async listDeployments(): ReturnType<TuiCore['listDeployments']> {
    return [];
  }

  /** Locks in force, as lock/unlock leave them. */
  locks: LockView[] = [];

  async lock(target: LockTarget, actor: Actor, reason?: string): Promise<LockView> {
    this.calls.push(`lock(${reason ?? ''}):${target.target}:${actor.id}`);
    if (this.refuseWith) {
      const r = this.refuseWith;
      this.refuseWith = null;
      throw r;
    }
    const lock: LockView = {
      id: `lock-${this.locks.length + 1}`,
      scope: target.scope,
      target: target.target,
      reason: reason ?? '',
      by: actor.id,
      via: actor.via,
      at: new Date().toISOString(),
    };
    this.locks.push(lock);
    return lock;
  }

  async unlock(target: LockTarget, actor: Actor): Promise<LockView> {
    this.calls.push(`unlock:${target.target}:${actor.id}`);
    const lock = this.locks.find((l) => l.scope === target.scope && l.target === target.target);
    if (!lock) throw new Refusal('not_locked', `${target.target} is not locked`);
    this.locks = this.locks.filter((l) => l !== lock);
    return lock;
  }
}
