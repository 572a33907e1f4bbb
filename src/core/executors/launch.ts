// Starts one step process behind its gate and reports what it does. Used by
// the step runner process (spawner-process.ts); it imports nothing but Node.

import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';

export type OutputStream = 'stdout' | 'stderr';

export type LaunchRequest = {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** A command the gate and the program run under (the sandbox: bwrap …). */
  readonly prefix?: readonly string[] | undefined;
  /**
   * 'argv' (the default): the gate runs `argv`. 'script': the process is
   * started before its step is known (the sandbox is set up meanwhile) and the
   * gate runs what go() sends it: a shell script from deploy-bot (exports, cd,
   * exec). `argv` is then empty.
   */
  readonly gate?: 'argv' | 'script' | undefined;
};

export type LaunchEvents = {
  /** The process exists (it waits at its gate). */
  readonly started: (pid: number) => void;
  readonly output: (stream: OutputStream, chunk: string) => void;
  /** The step's own process exited (and its output was read to the end, or 500 ms passed). */
  readonly done: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** It could not be started at all. */
  readonly failed: (message: string) => void;
};

export type Launched = {
  /** Lets the program run (the gate execs it); a 'script' gate is sent `script`. */
  go(script?: string): void;
  /** The program never runs: the gate reads end-of-file and exits 125. */
  cancel(): void;
  pause(stream: OutputStream): void;
  resume(stream: OutputStream): void;
};

/**
 * The step's process waits on fd 3 until deploy-bot has recorded its id, then
 * becomes the program (same pid, same process group). If deploy-bot dies
 * before that, fd 3 closes and the program never runs: a step deploy-bot
 * cannot find after a crash has never started.
 */
const GATE = 'read -r go <&3 && [ "$go" = go ] || exit 125; exec 3<&-; exec "$0" "$@"';

/**
 * The gate of a process started before its step is known: it reads an end
 * marker line, then the script's lines up to that marker, and only then runs
 * the script (the step's environment, cd, exec). End-of-file before the
 * marker: it never ran. `read` takes a byte at a time from a pipe, so the
 * script is kept short: the process starts with the environment the step is
 * expected to have, and the script sends only what differs.
 */
const SCRIPT_GATE =
  'IFS= read -r end <&3 || exit 125; s=; while IFS= read -r l <&3; do if [ "$l" = "$end" ]; then exec 3<&-; eval "$s"; exit 127; fi; s="$s$l\n"; done; exit 125';

export function launchStep(request: LaunchRequest, events: LaunchEvents): Launched {
  const gated =
    request.gate === 'script'
      ? ['/bin/sh', '-c', SCRIPT_GATE]
      : ['/bin/sh', '-c', GATE, ...request.argv];
  const [program, ...args] = request.prefix?.length ? [...request.prefix, ...gated] : gated;
  // The sandbox is set up while deploy-bot records the pid: the gate waits inside it.
  const child = spawn(program ?? '/bin/sh', args, {
    cwd: request.cwd,
    env: { ...request.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  // With a fourth pipe Node types every stdio entry as optional; all exist here.
  const [, stdout, stderr, gate] = child.stdio;
  if (!stdout || !stderr || !(gate instanceof Writable))
    throw new Error('the step was spawned without its pipes');
  const streams = { stdout, stderr };
  for (const name of ['stdout', 'stderr'] as const) {
    streams[name].setEncoding('utf8');
    streams[name].on('data', (chunk: string) => events.output(name, chunk));
  }
  // A step killed before it was let go makes this write fail (EPIPE): its
  // exit is what gets reported.
  gate.on('error', () => {});
  child.once('spawn', () => {
    if (child.pid !== undefined) events.started(child.pid);
  });
  let finished = false;
  child.once('error', (error) => {
    if (finished) return;
    finished = true;
    events.failed(error.message);
  });
  const finish = (code: number | null, signal: NodeJS.Signals | null) => {
    if (finished) return;
    finished = true;
    events.done(code, signal);
  };
  child.once('close', finish);
  // A background process the step started may keep its output pipes open:
  // the step is over when its own process exits.
  child.once('exit', (code, signal) => {
    setTimeout(() => {
      stdout.destroy();
      stderr.destroy();
      finish(code, signal);
    }, 500).unref();
  });
  return {
    go: (script) => gate.end(script ?? 'go\n'),
    cancel: () => gate.end(),
    pause: (stream) => streams[stream].pause(),
    resume: (stream) => streams[stream].resume(),
  };
}
