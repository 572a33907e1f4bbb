// The data layer against an in-memory core: a million-line log in bounded
// memory, coalesced refreshes, merging, resync and the connection state.

import { afterEach, describe, expect, it } from 'vitest';
import { LogWindow } from '../src/tui/data/log-window.ts';
import { RunsStore } from '../src/tui/data/runs-store.ts';
import { FakeCore } from './support/tui-fake-core.ts';

const until = async (check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

describe('log window', () => {
  it('holds a bounded window of a million-line log and pages with beforeId/afterId', async () => {
    const core = new FakeCore();
    core.bigLog('run-big', 1_000_000);
    const w = new LogWindow(core, 'run-big', { maxLines: 2000, pageSize: 500, height: 20 });
    closers.push(() => w.close());
    await w.open();
    let s = w.getSnapshot();
    expect(s.lines).toHaveLength(500);
    expect(s.total).toBe(1_000_000);
    expect(s.startIndex).toBe(999_500);
    expect(s.following).toBe(true);
    expect(s.lines[s.top + 19]!.line).toBe('line 1000000');

    // Scroll up far: older pages load, the window never exceeds the limit.
    for (let i = 0; i < 200; i++) {
      w.pageUp();
      await w.idle();
      expect(w.size).toBeLessThanOrEqual(2000);
    }
    s = w.getSnapshot();
    expect(s.following).toBe(false);
    expect(s.hasNewer).toBe(true);
    expect(s.hasOlder).toBe(true);
    const firstShown = s.lines[s.top]!.line;
    expect(Number(firstShown.split(' ')[1])).toBe(s.startIndex + s.top + 1);
    expect(core.calls.some((c) => c.includes('beforeId'))).toBe(true);

    // g: the very beginning.
    w.home();
    await w.idle();
    s = w.getSnapshot();
    expect(s.lines[0]!.line).toBe('line 1');
    expect(s.startIndex).toBe(0);
    expect(s.top).toBe(0);

    // Scrolling down from the top loads newer pages and drops the oldest.
    for (let i = 0; i < 150; i++) {
      w.pageDown();
      await w.idle();
    }
    s = w.getSnapshot();
    expect(w.size).toBeLessThanOrEqual(2000);
    expect(s.lines[s.top]!.line).toBe(`line ${s.startIndex + s.top + 1}`);
    expect(s.startIndex).toBeGreaterThan(0);

    // G: back to the end, following again.
    w.end();
    await w.idle();
    s = w.getSnapshot();
    expect(s.following).toBe(true);
    expect(s.lines.at(-1)!.line).toBe('line 1000000');
  });

  it('follows new lines at the bottom, and keeps the view still while paused', async () => {
    const core = new FakeCore();
    core.writeLog('run-1', ['one', 'two']);
    const w = new LogWindow(core, 'run-1', { maxLines: 200, pageSize: 50, height: 5 });
    closers.push(() => w.close());
    await w.open();
    core.writeLog('run-1', ['three']);
    expect(w.getSnapshot().lines.map((l) => l.line)).toEqual(['one', 'two', 'three']);

    core.writeLog(
      'run-1',
      Array.from({ length: 20 }, (_, i) => `more ${i}`),
    );
    let s = w.getSnapshot();
    expect(s.lines.at(-1)!.line).toBe('more 19');
    expect(s.top).toBe(s.lines.length - 5);

    w.scroll(-3);
    s = w.getSnapshot();
    expect(s.following).toBe(false);
    const topBefore = s.top;
    core.writeLog('run-1', ['while paused']);
    s = w.getSnapshot();
    expect(s.top).toBe(topBefore);
    expect(s.following).toBe(false);

    w.toggleFollow();
    await w.idle();
    s = w.getSnapshot();
    expect(s.following).toBe(true);
    expect(s.lines[s.top + 4]!.line).toBe('while paused');
  });

  it('paused with a full window: counts what it misses, then catches up at the end', async () => {
    const core = new FakeCore();
    core.writeLog(
      'run-2',
      Array.from({ length: 150 }, (_, i) => `old ${i}`),
    );
    const w = new LogWindow(core, 'run-2', { maxLines: 100, pageSize: 50, height: 10 });
    closers.push(() => w.close());
    await w.open();
    core.writeLog(
      'run-2',
      Array.from({ length: 50 }, (_, i) => `fill ${i}`),
    );
    expect(w.size).toBe(100);
    w.scroll(-5);
    core.writeLog(
      'run-2',
      Array.from({ length: 30 }, (_, i) => `new ${i}`),
    );
    let s = w.getSnapshot();
    expect(s.missed).toBe(30);
    expect(s.hasNewer).toBe(true);
    expect(w.size).toBeLessThanOrEqual(100);
    w.end();
    await w.idle();
    s = w.getSnapshot();
    expect(s.lines.at(-1)!.line).toBe('new 29');
    expect(s.missed).toBe(0);
    expect(s.total).toBe(230);
  });

  it('stops following when closed', async () => {
    const core = new FakeCore();
    const w = new LogWindow(core, 'run-3');
    await w.open();
    expect(core.followerCount).toBe(1);
    await w.close();
    expect(core.followerCount).toBe(0);
  });
});

describe('runs store', () => {
  it('coalesces a burst of changes into few refreshes', async () => {
    const core = new FakeCore();
    const run = core.addRun({ id: 'run-aaaaaaaaaa', status: 'planning' });
    const store = new RunsStore(core, { coalesceMs: 100, pingMs: 60_000 });
    closers.push(() => store.close());
    await store.start();
    core.calls = [];
    for (let i = 0; i < 200; i++) core.announce(run);
    await new Promise((r) => setTimeout(r, 350));
    await store.idle();
    const loads = core.calls.filter((c) => c.startsWith('getRun') || c === 'listRuns').length;
    expect(loads).toBeGreaterThan(0);
    expect(loads).toBeLessThanOrEqual(4);
  });

  it('merges changed runs, adds new ones on top and drops ones that leave the filter', async () => {
    const core = new FakeCore();
    core.addRun({ id: 'run-old0000000', status: 'planning', createdAt: '2024-05-01T10:00:00Z' });
    const store = new RunsStore(core, {
      coalesceMs: 10,
      pingMs: 60_000,
      query: { group: 'active', deployment: null, environment: null },
    });
    closers.push(() => store.close());
    await store.start();
    expect(store.getSnapshot().runs.map((r) => r.id)).toEqual(['run-old0000000']);
    const fresh = core.addRun({
      id: 'run-new0000000',
      status: 'queued',
      createdAt: '2024-05-01T11:00:00Z',
    });
    core.announce(fresh);
    await until(() => store.getSnapshot().runs.length === 2);
    expect(store.getSnapshot().runs[0]!.id).toBe('run-new0000000');
    core.changeRun('run-old0000000', { status: 'completed', finishedAt: '2024-05-01T10:05:00Z' });
    await until(() => store.getSnapshot().runs.length === 1);
    expect(store.getSnapshot().runs[0]!.id).toBe('run-new0000000');
  });

  it('reloads everything on a resync', async () => {
    const core = new FakeCore();
    const store = new RunsStore(core, { coalesceMs: 10, pingMs: 60_000 });
    closers.push(() => store.close());
    await store.start();
    core.addRun({ id: 'run-missed0000', status: 'completed' });
    core.resync();
    await until(() => store.getSnapshot().runs.length === 1);
  });

  it('reports a lost connection and recovers by itself', async () => {
    const core = new FakeCore();
    const store = new RunsStore(core, { coalesceMs: 10, pingMs: 30 });
    closers.push(() => store.close());
    await store.start();
    core.pingOk = false;
    await until(() => !store.getSnapshot().connected);
    expect(store.getSnapshot().lostSince).not.toBeNull();
    core.addRun({ id: 'run-during0000', status: 'queued' });
    core.pingOk = true;
    await until(() => store.getSnapshot().connected && store.getSnapshot().runs.length === 1);
    expect(store.getSnapshot().lostSince).toBeNull();
  });
});
