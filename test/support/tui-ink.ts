// Rendering deploy-tui components with ink-testing-library, and waiting for what
// the frame shows (never for a fixed time).

import { EventEmitter } from 'node:events';
import { render as inkRender } from 'ink';
import type { render } from 'ink-testing-library';
import { createElement as h, type ReactElement } from 'react';
import type { Actor } from '../../src/core/api/types.ts';
import { App, type AppProps } from '../../src/tui/app.ts';
import type { TuiCore } from '../../src/tui/data/port.ts';
import { RunsStore, type RunsStoreOptions } from '../../src/tui/data/runs-store.ts';
import { displayWidth as displayWidthOf, stripAnsi } from '../../src/tui/text/width.ts';
import { PLAIN_THEME } from '../../src/tui/theme.ts';

export type Rendered = ReturnType<typeof render>;

/**
 * ink-testing-library's output stream has no rows, so Ink asks the real terminal
 * for its size (a child process) on every frame, and useWindowSize cannot be
 * tested. This stream has a size and emits 'resize' as a terminal does.
 */
class SizedStdout extends EventEmitter {
  columns: number;
  rows: number;
  readonly frames: string[] = [];
  private last: string | undefined;
  constructor(columns: number, rows: number) {
    super();
    this.columns = columns;
    this.rows = rows;
  }
  write = (frame: string) => {
    this.frames.push(frame);
    this.last = frame;
    return true;
  };
  lastFrame = () => this.last;
  resize(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write = (data: string) => {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
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

export type SizedRendered = {
  readonly stdout: SizedStdout;
  readonly stdin: FakeStdin;
  lastFrame(): string | undefined;
  rerender(element: ReactElement): void;
  unmount(): void;
};

/** Like ink-testing-library's render, with a terminal size that can change. */
export function renderSized(element: ReactElement, columns: number, rows: number): SizedRendered {
  const stdout = new SizedStdout(columns, rows);
  const stdin = new FakeStdin();
  const instance = inkRender(element, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: new SizedStdout(columns, rows) as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return {
    stdout,
    stdin,
    lastFrame: stdout.lastFrame,
    rerender: (el) => instance.rerender(el),
    unmount: () => {
      instance.unmount();
      instance.cleanup();
    },
  };
}

export const KEYS = {
  enter: '\r',
  escape: '\u001b',
  tab: '\t',
  up: '\u001b[A',
  down: '\u001b[B',
  right: '\u001b[C',
  left: '\u001b[D',
  pageUp: '\u001b[5~',
  pageDown: '\u001b[6~',
  backspace: '\u007f',
} as const;

type Framed = { lastFrame(): string | undefined; readonly stdin: { write(data: string): void } };

export function frameOf(r: Framed): string {
  return stripAnsi(r.lastFrame() ?? '');
}

export async function waitForFrame(
  r: Framed,
  check: (frame: string) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = frameOf(r);
    if (check(frame)) return frame;
    if (Date.now() > deadline)
      throw new Error(`the screen did not show ${what} within ${timeoutMs}ms; it shows:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function waitForText(r: Framed, text: string, timeoutMs?: number): Promise<string> {
  return waitForFrame(r, (f) => f.includes(text), JSON.stringify(text), timeoutMs);
}

export function waitForNoText(r: Framed, text: string, timeoutMs?: number): Promise<string> {
  return waitForFrame(r, (f) => !f.includes(text), `no ${JSON.stringify(text)}`, timeoutMs);
}

/** Writes keys one at a time, letting Ink handle each before the next. */
export async function press(r: Framed, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    r.stdin.write(key);
    await new Promise((resolve) => setTimeout(resolve, key === KEYS.escape ? 60 : 15));
  }
}

export type AppHandle = {
  readonly r: SizedRendered;
  readonly store: RunsStore;
  readonly quits: number[];
  resize(columns: number, rows: number): void;
  close(): Promise<void>;
};

export async function renderApp(
  core: TuiCore,
  options: {
    actor?: Actor | null;
    columns?: number;
    rows?: number;
    store?: RunsStoreOptions;
    props?: Partial<AppProps>;
  } = {},
): Promise<AppHandle> {
  const store = new RunsStore(core, { coalesceMs: 20, pingMs: 50, ...options.store });
  await store.start();
  const quits: number[] = [];
  // The app takes the terminal's size, and follows its resizes, as in main.
  const element = h(App, {
    core,
    store,
    actor: options.actor ?? null,
    theme: PLAIN_THEME,
    onQuit: () => quits.push(Date.now()),
    ...options.props,
  });
  const r = renderSized(element, options.columns ?? 80, options.rows ?? 24);
  return {
    r,
    store,
    quits,
    resize(columns, rows) {
      r.stdout.resize(columns, rows);
    },
    async close() {
      r.unmount();
      await store.close();
    },
  };
}

/** Every line of the frame fits the width: nothing wraps into a broken table. */
export function assertFits(frame: string, columns: number, rows: number): void {
  const lines = frame.split('\n');
  if (lines.length > rows)
    throw new Error(`the frame has ${lines.length} lines, more than ${rows}:\n${frame}`);
  for (const line of lines) {
    if (displayWidthOf(line) > columns)
      throw new Error(`a line is wider than ${columns}: ${JSON.stringify(line)}`);
  }
}
