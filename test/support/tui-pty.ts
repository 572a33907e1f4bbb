// Runs a command in a real pseudo-terminal (python3's pty module: node-pty is
// not installed), feeds it keys, and keeps what its screen shows.

import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import { Screen } from './tui-screen.ts';

// Parent: relays stdin -> pty and pty -> stdout; fd 3 takes "COLS ROWS" lines to
// resize (the kernel then sends SIGWINCH to the program). Exits with its code.
const RELAY = String.raw`
import os, sys, pty, select, struct, fcntl, termios, errno
cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
inputs = [fd, 0, 3]
ctl = b''
while True:
    try:
        ready, _, _ = select.select(inputs, [], [], 0.5)
    except InterruptedError:
        continue
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 4096)
        if not data:
            inputs.remove(0)
        else:
            os.write(fd, data)
    if 3 in ready:
        data = os.read(3, 4096)
        if not data:
            inputs.remove(3)
        else:
            ctl += data
            while b'\n' in ctl:
                line, ctl = ctl.split(b'\n', 1)
                c, r = (int(v) for v in line.split())
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else (status >> 8))
`;

export type Pty = {
  readonly screen: Screen;
  readonly exited: Promise<number>;
  /** Writes keys (a string is sent as typed; use the escape codes for special keys). */
  write(data: string): void;
  resize(columns: number, rows: number): void;
  waitFor(check: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
  waitForText(text: string, timeoutMs?: number): Promise<string>;
  kill(): void;
};

export function startPty(options: {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly columns: number;
  readonly rows: number;
}): Pty {
  const screen = new Screen(options.columns, options.rows);
  const child: ChildProcess = spawn(
    'python3',
    ['-c', RELAY, String(options.columns), String(options.rows), options.command, ...options.args],
    { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => screen.write(d));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  const control = child.stdio[3] as Writable;
  const waitFor = async (check: (s: string) => boolean, what: string, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = screen.text();
      if (check(text)) return text;
      if (Date.now() > deadline) {
        throw new Error(
          `the terminal did not show ${what} within ${timeoutMs}ms; it shows:\n${text}\n${stderr ? `stderr: ${stderr}` : ''}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    screen,
    exited,
    write: (data) => {
      child.stdin?.write(data);
    },
    resize: (columns, rows) => {
      screen.resize(columns, rows);
      control.write(`${columns} ${rows}\n`);
    },
    waitFor,
    waitForText: (text, timeoutMs) =>
      waitFor((s) => s.includes(text), JSON.stringify(text), timeoutMs),
    kill: () => {
      child.kill('SIGKILL');
    },
  };
}
