// A window onto a run's log: at most `maxLines` lines are held, whatever the
// log's size. At the bottom it follows (the core's cross-process subscription
// delivers new lines); scrolling up pauses following and loads older pages with
// `beforeId`, dropping lines at the far end; scrolling back down loads newer
// pages, and reaching the end follows again.

import type { LogLine, Unsubscribe } from '../../core/api/types.ts';
import { errorMessage } from '../../core/errors.ts';
import type { TuiCore } from './port.ts';

export type LogSnapshot = {
  readonly runId: string;
  /** The window: consecutive lines of the log, oldest first. */
  readonly lines: readonly LogLine[];
  /** Position of lines[0] in the whole log (0-based). */
  readonly startIndex: number;
  /** Lines in the whole log, as far as known. */
  readonly total: number;
  /** Index in `lines` of the first line on screen. */
  readonly top: number;
  readonly height: number;
  readonly following: boolean;
  readonly hasOlder: boolean;
  readonly hasNewer: boolean;
  readonly loading: boolean;
  readonly opened: boolean;
  readonly error: string | null;
  /** Lines that arrived while paused and are not in the window. */
  readonly missed: number;
};

export type LogWindowOptions = {
  readonly maxLines?: number;
  readonly pageSize?: number;
  readonly height?: number;
};

export class LogWindow {
  private readonly core: TuiCore;
  private readonly maxLines: number;
  private readonly pageSize: number;
  private snapshot: LogSnapshot;
  private readonly listeners = new Set<() => void>();
  private unfollow: Unsubscribe | null = null;
  private closed = false;
  private busy: Promise<void> | null = null;
  /** Lines the follower delivered while the tail was being reloaded. */
  private buffer: LogLine[] | null = null;
  /** The newest line id seen from any source. */
  private newestId = 0;

  constructor(core: TuiCore, runId: string, options: LogWindowOptions = {}) {
    this.core = core;
    this.maxLines = Math.max(100, options.maxLines ?? 2000);
    this.pageSize = Math.min(options.pageSize ?? 500, Math.floor(this.maxLines / 2));
    this.snapshot = {
      runId,
      lines: [],
      startIndex: 0,
      total: 0,
      top: 0,
      height: Math.max(1, options.height ?? 10),
      following: true,
      hasOlder: false,
      hasNewer: false,
      loading: true,
      opened: false,
      error: null,
      missed: 0,
    };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): LogSnapshot => this.snapshot;

  /** Loads the tail and starts following. Errors land in the snapshot. */
  open(): Promise<void> {
    return this.exclusive(async () => {
      const runId = this.snapshot.runId;
      try {
        const total = await this.core.countLogLines(runId);
        const tail = await this.core.readLogs(runId, { tail: this.pageSize });
        this.seen(tail);
        const lines = this.trimFront(tail).lines;
        const all = Math.max(total, lines.length);
        this.update({
          lines,
          total: all,
          startIndex: all - lines.length,
          hasOlder: all > lines.length,
          hasNewer: false,
          loading: false,
          error: null,
        });
        this.update({ top: this.bottomTop() });
        if (!this.unfollow && !this.closed) {
          this.unfollow = await this.core.followLogs(
            runId,
            (batch, skipped) => this.arrived(batch, skipped),
            // Only a window is ever shown: skip over a backlog instead of paging through it.
            { afterId: lines.at(-1)?.id ?? 0, keepNewest: this.maxLines },
          );
          if (this.closed) await this.stopFollowing();
        }
        this.update({ opened: true });
      } catch (error) {
        this.update({ loading: false, error: errorMessage(error) });
      }
    });
  }

  /** After a reconnect: open again if the first try failed (following resumes by itself). */
  retry(): void {
    if (!this.snapshot.opened && !this.busy) void this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.busy?.catch(() => {});
    await this.stopFollowing();
  }

  /** Lines the window holds (for memory checks in tests). */
  get size(): number {
    return this.snapshot.lines.length;
  }

  idle(): Promise<void> {
    return this.busy ?? Promise.resolve();
  }

  // ---- navigation ------------------------------------------------------------

  setHeight(height: number): void {
    const h = Math.max(1, height);
    if (h === this.snapshot.height) return;
    this.update({ height: h });
    this.update({
      top: this.snapshot.following ? this.bottomTop() : this.clampTop(this.snapshot.top),
    });
  }

  /** Scrolls by `delta` lines (negative: up, back in time). */
  scroll(delta: number): void {
    if (delta === 0) return;
    const s = this.snapshot;
    const target = s.top + delta;
    if (delta < 0) {
      this.update({ following: false });
      if (target < 0 && s.hasOlder && !this.busy) {
        void this.exclusive(() => this.loadOlder(target));
        return;
      }
      this.update({ top: this.clampTop(target) });
      return;
    }
    const maxTop = this.bottomTop();
    if (target > maxTop) {
      if (s.hasNewer) {
        if (!this.busy) void this.exclusive(() => this.loadNewer(target));
        else this.update({ top: maxTop });
        return;
      }
      // The end of the log: follow again.
      this.update({ top: maxTop, following: true, missed: 0 });
      return;
    }
    this.update({ top: target });
  }

  pageUp(): void {
    this.scroll(-Math.max(1, this.snapshot.height - 1));
  }

  pageDown(): void {
    this.scroll(Math.max(1, this.snapshot.height - 1));
  }

  /** The first line of the log (g). */
  home(): void {
    const s = this.snapshot;
    this.update({ following: false });
    if (!s.hasOlder) {
      this.update({ top: 0 });
      return;
    }
    void this.exclusive(async () => {
      this.update({ loading: true });
      try {
        const first = await this.core.readLogs(s.runId, { afterId: 0, limit: this.pageSize });
        this.seen(first);
        this.update({
          lines: first,
          startIndex: 0,
          top: 0,
          hasOlder: false,
          hasNewer: (first.at(-1)?.id ?? 0) < this.newestId,
          loading: false,
          error: null,
        });
      } catch (error) {
        this.update({ loading: false, error: errorMessage(error) });
      }
    });
  }

  /** The end of the log, following (G). */
  end(): void {
    if (!this.snapshot.hasNewer) {
      this.update({ following: true, missed: 0 });
      this.update({ top: this.bottomTop() });
      return;
    }
    void this.exclusive(() => this.reloadTail());
  }

  /** Pauses following, or resumes it at the end. */
  toggleFollow(): void {
    if (this.snapshot.following) this.update({ following: false });
    else this.end();
  }

  // ---- internals -------------------------------------------------------------

  private update(patch: Partial<LogSnapshot>) {
    if (this.closed) return;
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.listeners) l();
  }

  private async exclusive(task: () => Promise<void>): Promise<void> {
    while (this.busy) await this.busy.catch(() => {});
    const run = task().finally(() => {
      if (this.busy === run) this.busy = null;
    });
    this.busy = run;
    return run;
  }

  private async stopFollowing() {
    const unfollow = this.unfollow;
    this.unfollow = null;
    await unfollow?.().catch(() => {});
  }

  private bottomTop(): number {
    return Math.max(0, this.snapshot.lines.length - this.snapshot.height);
  }

  private clampTop(top: number): number {
    return Math.min(Math.max(0, top), this.bottomTop());
  }

  private seen(lines: readonly LogLine[]) {
    const last = lines.at(-1);
    if (last && last.id > this.newestId) this.newestId = last.id;
  }

  /** Drops lines at the front beyond the limit. */
  private trimFront(lines: readonly LogLine[]): { lines: readonly LogLine[]; dropped: number } {
    const dropped = Math.max(0, lines.length - this.maxLines);
    return { lines: dropped > 0 ? lines.slice(dropped) : lines, dropped };
  }

  private arrived(batch: readonly LogLine[], skipped = 0) {
    const fresh = batch.filter((l) => l.id > this.newestId);
    if (fresh.length === 0) return;
    this.seen(fresh);
    if (this.buffer) {
      // Lines older than a skipped backlog would leave a gap: keep the newest only.
      if (skipped > 0) this.buffer.length = 0;
      this.buffer.push(...fresh);
      this.update({ total: this.snapshot.total + skipped + fresh.length });
      return;
    }
    const s = this.snapshot;
    const total = s.total + skipped + fresh.length;
    if (skipped > 0) {
      // The core skipped a backlog (more lines than the window holds came at once).
      if (s.following) {
        const lines = this.trimFront([...fresh]).lines;
        this.update({
          lines,
          total,
          startIndex: total - lines.length,
          hasOlder: true,
          hasNewer: false,
        });
        this.update({ top: this.bottomTop() });
      } else {
        this.update({ total, hasNewer: true, missed: s.missed + skipped + fresh.length });
      }
      return;
    }
    const windowEnd = s.lines.at(-1)?.id ?? 0;
    const contiguous = !s.hasNewer && (s.lines.length === 0 || (fresh[0]?.id ?? 0) > windowEnd);
    if (s.following && contiguous) {
      const { lines, dropped } = this.trimFront([...s.lines, ...fresh]);
      this.update({
        lines,
        total,
        startIndex: s.startIndex + dropped,
        hasOlder: s.hasOlder || dropped > 0,
      });
      this.update({ top: this.bottomTop() });
    } else if (contiguous && s.lines.length + fresh.length <= this.maxLines) {
      // Paused, but there is room: keep them, the view does not move.
      this.update({ lines: [...s.lines, ...fresh], total });
    } else {
      this.update({ total, hasNewer: true, missed: s.missed + fresh.length });
    }
  }

  private async loadOlder(target: number) {
    const s = this.snapshot;
    const first = s.lines[0];
    if (!first) return;
    this.update({ loading: true });
    try {
      const older = await this.core.readLogs(s.runId, { beforeId: first.id, limit: this.pageSize });
      const now = this.snapshot;
      let lines: readonly LogLine[] = [...older, ...now.lines];
      let hasNewer = now.hasNewer;
      if (lines.length > this.maxLines) {
        lines = lines.slice(0, this.maxLines);
        hasNewer = true;
      }
      const noMore = older.length < this.pageSize;
      this.update({
        lines,
        startIndex: noMore ? 0 : Math.max(0, now.startIndex - older.length),
        hasOlder: !noMore,
        hasNewer,
        loading: false,
        error: null,
      });
      this.update({ top: this.clampTop(now.top + (target - s.top) + older.length) });
    } catch (error) {
      this.update({ loading: false, error: errorMessage(error) });
    }
  }

  private async loadNewer(target: number) {
    const s = this.snapshot;
    const last = s.lines.at(-1);
    if (!last) return;
    this.update({ loading: true });
    try {
      const newer = await this.core.readLogs(s.runId, { afterId: last.id, limit: this.pageSize });
      this.seen(newer);
      const now = this.snapshot;
      const { lines, dropped } = this.trimFront([...now.lines, ...newer]);
      const hasNewer = (lines.at(-1)?.id ?? 0) < this.newestId;
      this.update({
        lines,
        startIndex: now.startIndex + dropped,
        hasOlder: now.hasOlder || dropped > 0,
        hasNewer,
        missed: hasNewer ? now.missed : 0,
        loading: false,
        error: null,
      });
      this.update({ top: this.clampTop(target - dropped) });
    } catch (error) {
      this.update({ loading: false, error: errorMessage(error) });
    }
  }

  private async reloadTail() {
    const runId = this.snapshot.runId;
    this.buffer = [];
    this.update({ loading: true });
    try {
      const tail = await this.core.readLogs(runId, { tail: this.pageSize });
      this.seen(tail);
      const after = tail.at(-1)?.id ?? 0;
      const extra = this.buffer.filter((l) => l.id > after);
      const lines = this.trimFront([...tail, ...extra]).lines;
      const total = Math.max(this.snapshot.total, lines.length);
      this.update({
        lines,
        total,
        startIndex: total - lines.length,
        hasOlder: total > lines.length,
        hasNewer: false,
        following: true,
        missed: 0,
        loading: false,
        error: null,
      });
      this.update({ top: this.bottomTop() });
    } catch (error) {
      this.update({ loading: false, error: errorMessage(error) });
    } finally {
      this.buffer = null;
    }
  }
}
