// Frame time of deploy-tui with 1,000 runs, in a process of its own so that
// React is its production build (src/tui/production.ts first, as in main.ts)
// whatever the benchmark process loaded. The real App and RunsStore over an
// in-memory core (the tests' FakeCore) holding 1,000 RunView fixtures, rendered
// by Ink with deploy-tui's own options into a terminal-sized stream.
//   node bench/lib/tui-frames.ts COLUMNS ROWS FRAMES  → JSON FramesResult on stdout

import '../../src/tui/production.ts';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { render } from 'ink';
import { createElement as h } from 'react';
import type { RunView } from '../../src/core/api/types.ts';
import { RUN_STATUSES, STATUS_TABLE } from '../../src/core/lifecycle/statuses.ts';
import { App } from '../../src/tui/app.ts';
import { RunsStore } from '../../src/tui/data/runs-store.ts';
import { makeTheme } from '../../src/tui/theme.ts';
import { FakeCore } from '../../test/support/tui-fake-core.ts';
import { Screen } from '../../test/support/tui-screen.ts';

export type FramesResult = {
  readonly reactBuild: string;
  /** Key ↓ → the frame written, ms. */
  readonly key: number[];
  /** A run's status changes (store.upsert) → the frame written, ms. */
  readonly data: number[];
  /** PgDn (or g back to the top) → the frame written, ms: every row of the list is new. */
  readonly page: number[];
  /** Ink's own time building each frame's output (its onRender renderTime), ms. */
  readonly inkRender: number[];
  readonly bytesPerFrame: number;
  /** The screen after the last key frame showed the selected run. */
  readonly checked: boolean;
  readonly firstFrameMs: number;
};

/** Runs the measurement in a fresh process. */
export function measureFrames(
  columns: number,
  rows: number,
  frames: number,
): Promise<FramesResult> {
  const child = spawn(
    process.execPath,
    [import.meta.filename, String(columns), String(rows), String(frames)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Ink styles text with chalk, which takes its colour level from this process's
      // own stdout: a pipe here, so no colour, bold or inverse at all would be drawn.
      // 256 colours, as deploy-tui gets in an xterm-256color terminal (and as the
      // stream below reports).
      env: { ...process.env, NODE_ENV: 'production', FORCE_COLOR: '2' },
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  // Ink restores the cursor on stderr at exit: kept for errors only.
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`tui-frames exited with ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as FramesResult);
    });
  });
}

/** A terminal's stdout: a size, 'resize', and every write timed. */
class TerminalOut extends EventEmitter {
  readonly isTTY = true;
  columns: number;
  rows: number;
  writes = 0;
  bytes = 0;
  lastWrite = 0;
  chunks: string[] = [];
  onWrite: (() => void) | null = null;
  constructor(columns: number, rows: number) {
    super();
    this.columns = columns;
    this.rows = rows;
  }
  write = (chunk: string | Uint8Array) => {
    this.lastWrite = performance.now();
    this.writes++;
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    this.bytes += text.length;
    this.chunks.push(text);
    const cb = this.onWrite;
    this.onWrite = null;
    cb?.();
    return true;
  };
  getColorDepth() {
    return 8;
  }
  hasColors() {
    return true;
  }
}

class TerminalIn extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  write = (data: string) => {
    this.data = data;
    this.emit('readable');
  };
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const [columns, rows, frames] = process.argv.slice(2).map(Number) as [number, number, number];
  const NOW = Date.now();
  const core = new FakeCore();
  // Newest first, as the store keeps them; every status; long and short names.
  for (let i = 999; i >= 0; i--) {
    core.addRun({
      id: `run-${String(i).padStart(10, '0')}`,
      status: RUN_STATUSES[i % RUN_STATUSES.length]!,
      deployment:
        i % 7 === 0 ? 'checkout-service-with-a-really-long-deployment-name' : `svc-${i % 13}`,
      environment: i % 2 ? 'production-eu-west-1-blue' : 'staging',
      requestedBy: 'U012ABCDEFGHIJ',
      createdAt: new Date(NOW - i * 60_000).toISOString(),
    });
  }
  const store = new RunsStore(core, { pingMs: 3_600_000, fullRefreshMs: 3_600_000 });
  await store.start();
  const stdout = new TerminalOut(columns, rows);
  const stdin = new TerminalIn();
  const inkRender: number[] = [];
  let measuring = false;
  const started = performance.now();
  const app = render(
    h(App, {
      core,
      store,
      actor: { id: 'U0BENCH', via: 'tui' },
      theme: makeTheme(true),
      // The once-a-second clock re-render is left out, so that it never shares a frame.
      tickMs: 3_600_000,
    }),
    {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stderr: new TerminalOut(columns, rows) as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      // As src/tui/main.ts renders it.
      alternateScreen: true,
      incrementalRendering: true,
      interactive: true,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 30,
      onRender: ({ renderTime }) => {
        if (measuring) inkRender.push(renderTime);
      },
    },
  );
  // The first frame with the 1,000 runs.
  while (!stdout.chunks.join('').includes('1000 runs')) await sleep(5);
  const firstFrameMs = performance.now() - started;

  /** Fires `trigger` and resolves with the time until the frame it caused was written. */
  const frame = async (trigger: () => void): Promise<number> => {
    // Quiet for longer than Ink's 33 ms throttle: the next render is not delayed by it.
    while (performance.now() - stdout.lastWrite < 60) await sleep(10);
    const t0 = performance.now();
    const written = new Promise<number>((resolve) => {
      stdout.onWrite = () => {
        // The rest of the frame is written in the same turn.
        setImmediate(() => resolve(stdout.lastWrite - t0));
      };
    });
    trigger();
    return Promise.race([written, sleep(2000).then(() => Number.NaN)]);
  };

  const warm = 20;
  const key: number[] = [];
  const bytes0 = stdout.bytes;
  measuring = true;
  for (let i = 0; i < frames + warm; i++) {
    const ms = await frame(() => stdin.write('\u001b[B'));
    if (i >= warm) key.push(ms);
  }
  const keyBytes = (stdout.bytes - bytes0) / (frames + warm);
  // The screen shows the selection where it should be.
  const screen = new Screen(columns, rows);
  for (const c of stdout.chunks) screen.write(c);
  const checked = screen.text().includes(`› run-${String(frames + warm).padStart(10, '0')}`);

  const data: number[] = [];
  const statuses = ['applying', 'verifying', 'completed', 'failed'] as const;
  for (let i = 0; i < frames + warm; i++) {
    // A run on screen (the selected one) changes status, as after a NOTIFY and a fetch.
    const shown = store.getSnapshot().runs[frames + warm]!;
    const status = statuses[i % statuses.length]!;
    const changed: RunView = {
      ...shown,
      status,
      statusLabel: STATUS_TABLE[status].label,
      version: shown.version + 1,
    };
    const ms = await frame(() => store.upsert(changed));
    if (i >= warm) data.push(ms);
  }
  measuring = false;

  // Frames that draw every row of the list anew, as when the list scrolls by half a
  // screen under a ↓: eight pages down, then back to the top, and so on.
  const page: number[] = [];
  const pageWarm = 5;
  const pageFrames = Math.min(frames, 60);
  for (let i = 0; i < pageFrames + pageWarm; i++) {
    const ms = await frame(() => stdin.write(i % 9 === 8 ? 'g' : '\u001b[6~'));
    if (i >= pageWarm) page.push(ms);
  }
  app.unmount();
  await store.close();
  // Node parses both builds for their export names; only the one required runs (loaded).
  const cache = createRequire(import.meta.url).cache;
  const reactBuild = Object.entries(cache)
    .filter(
      ([k, m]) => m?.loaded && /react(-reconciler)?[/\\]cjs[/\\]react(-reconciler)?\./.test(k),
    )
    .map(([k]) => k.replace(/^.*node_modules[/\\]/, ''))
    .join(', ');
  const result: FramesResult = {
    reactBuild,
    key,
    data,
    page,
    inkRender,
    bytesPerFrame: Math.round(keyBytes),
    checked,
    firstFrameMs,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

if (import.meta.main) await main();
