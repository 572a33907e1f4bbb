// Runs one step as a child process in its own process group, streaming its
// output line by line. Values reach the step only through its environment,
// never through a shell string. On timeout or abort the whole group is killed.

import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { tokenize } from '../variables/args.ts';
import { ErrorOutput } from './error-output.ts';
import type { LaunchEvents, OutputStream } from './launch.ts';
import { StepLaunchError } from './launch-error.ts';
import { gateScript, type SandboxedStep } from './prestart.ts';
import { grantToStepUser, sandboxLaunch, sandboxStatus } from './sandbox.ts';
import { launchThroughRunner } from './spawner.ts';

/** Which output pipe a line came from (the runner's name for it). */
export type StepStream = OutputStream;

export type StepRequest = {
  /** A human name for messages: "plan step ./plan.sh". */
  readonly label: string;
  /** The command as written in config: a path (relative to cwd) and optional fixed arguments. */
  readonly command: string | readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly onLine: (stream: StepStream, line: string) => void;
  readonly signal?: AbortSignal | undefined;
  /**
   * Told the process id before the step's program runs (recorded for crash
   * recovery). The program starts only once the returned promise resolves; when
   * it rejects, the program never runs and the step fails with StepNotStarted.
   */
  readonly onStart?: ((pid: number) => Promise<void> | void) | undefined;
  /** When it returns a promise, the step's output is paused until it settles. */
  readonly backpressure?: (() => Promise<void> | null) | undefined;
  /** What the step may see: run in bubblewrap unless DEPLOY_STEP_SANDBOX=off (or auto without it). */
  readonly sandbox?: SandboxedStep | undefined;
  /** Masks sensitive values in the output a failed step's result carries. */
  readonly redact?: ((text: string) => string) | undefined;
};

export type StepResult =
  | { readonly outcome: 'succeeded'; readonly durationMs: number }
  | {
      readonly outcome: 'failed';
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly durationMs: number;
      /** What the step said about its failure (see ErrorOutput), redacted; null if nothing. */
      readonly output: string | null;
    }
  | { readonly outcome: 'timed_out'; readonly durationMs: number }
  | { readonly outcome: 'aborted'; readonly durationMs: number };

/** The step's program was never run: its process could not be recorded first. */
export class StepNotStarted extends Error {
  override readonly name = 'StepNotStarted';
}

const MAX_LINE = 16 * 1024;
const KILL_GRACE_MS = 3_000;

function findOnPath(program: string, pathVar: string | undefined): string | null {
  for (const dir of (pathVar ?? '').split(':')) {
    if (!dir) continue;
    const file = path.join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

export function resolveCommand(
  command: string | readonly string[],
  cwd: string,
  label: string,
  pathVar?: string,
): string[] {
  const argv = typeof command === 'string' ? tokenize(command) : [...command];
  const [program] = argv;
  if (program === undefined) throw new StepLaunchError(`${label} is empty`);
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    // A command written in config runs from the workspace (the approval covers
    // it), never from elsewhere; config loading refuses such commands already.
    const rel = path.relative(cwd, file);
    if (
      typeof command === 'string' &&
      (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel))
    )
      throw new StepLaunchError(
        `${label}: ${program} is outside the workspace: a step command is a path inside the source or a bare program on PATH`,
      );
    if (!existsSync(file))
      throw new StepLaunchError(
        `${label}: ${program} does not exist in the workspace (${cwd})`,
        'not_found',
      );
    if (!statSync(file).isFile()) throw new StepLaunchError(`${label}: ${program} is not a file`);
    try {
      accessSync(file, constants.X_OK);
    } catch {
      throw new StepLaunchError(
        `${label}: ${program} is not executable; run "chmod +x ${program}" and commit it`,
      );
    }
    argv[0] = file;
  } else {
    const found = findOnPath(program, pathVar);
    if (!found)
      throw new StepLaunchError(
        `${label} could not start: ${program} is not on the worker's PATH`,
        'not_found',
      );
    argv[0] = found;
  }
  return argv;
}

/** Kills a process group, politely first. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

class LineSplitter {
  private buffer = '';
  private readonly emit: (line: string) => void;
  constructor(emit: (line: string) => void) {
    this.emit = emit;
  }
  push(chunk: string) {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl !== -1) {
      this.emitLine(this.buffer.slice(0, nl));
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf('\n');
    }
    while (this.buffer.length > MAX_LINE) {
      this.emit(this.buffer.slice(0, MAX_LINE));
      this.buffer = this.buffer.slice(MAX_LINE);
    }
  }
  end() {
    if (this.buffer.length > 0) this.emitLine(this.buffer);
    this.buffer = '';
  }
  private emitLine(line: string) {
    this.emit(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The gate's prefix and the environment: in the sandbox, or as they are.
 * `ready` settles when the workspace is the step user's: the sandbox is set up
 * meanwhile, and the program runs only after both (and the pid record).
 * `prestarted`: the step's sandbox, already waiting (started with the
 * workspace), and what to send its gate, when it fits this step.
 */
function launchPlan(request: StepRequest, argv: readonly string[]) {
  const plain = { prefix: undefined, env: request.env, ready: Promise.resolve(), prestarted: null };
  const program = argv[0] ?? '';
  const waiting = request.sandbox?.prestarted ?? null;
  if (!request.sandbox) return plain;
  const status = sandboxStatus();
  if (!status.active) {
    waiting?.cancel();
    if (status.mode === 'required')
      throw new StepLaunchError(`${request.label} was not started: ${status.warning}`);
    return plain;
  }
  const launch = sandboxLaunch(status, request.sandbox, request.env, request.cwd, program);
  const ready = grantToStepUser(request.sandbox, status).catch((error: unknown) => {
    throw new Error(
      `deploy-bot could not hand the workspace to the step user (${messageOf(error)})`,
    );
  });
  let prestarted: { readonly prefix: readonly string[]; readonly script: string } | null = null;
  if (waiting) {
    const script = gateScript(argv, request.cwd, launch.env, waiting.env);
    // The waiting sandbox was started in the workspace root: the same command
    // line with that working directory is the same sandbox.
    const prefix = sandboxLaunch(
      status,
      request.sandbox,
      request.env,
      request.sandbox.workspaceRoot,
      program,
    ).prefix;
    if (script) prestarted = { prefix, script };
    else waiting.cancel();
  }
  return { ...launch, ready, prestarted };
}

export async function runStep(request: StepRequest): Promise<StepResult> {
  const argv = resolveCommand(request.command, request.cwd, request.label, request.env.PATH);
  const { prefix, env, ready, prestarted } = launchPlan(request, argv);
  // Not awaited here: handled where the program is let go (a failure stops it there).
  ready.catch(() => {});
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  if (request.signal?.aborted) return { outcome: 'aborted', durationMs: 0 };
  return new Promise<StepResult>((resolve, reject) => {
    let pid: number | undefined;
    let notStarted: StepNotStarted | null = null;
    let ending: 'timed_out' | 'aborted' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let stopWhenStarted: 'timed_out' | 'aborted' | null = null;
    const stop = (why: 'timed_out' | 'aborted') => {
      if (ending !== null) return;
      if (pid === undefined) {
        stopWhenStarted ??= why;
        return;
      }
      ending = why;
      const group = pid;
      killGroup(group, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(group, 'SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    const timer = setTimeout(() => stop('timed_out'), request.timeoutMs);
    const onAbort = () => stop('aborted');
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      request.signal?.removeEventListener('abort', onAbort);
    };

    const errorOutput = new ErrorOutput();
    const splitters = {
      stdout: new LineSplitter((line) => {
        errorOutput.add('stdout', line);
        request.onLine('stdout', line);
      }),
      stderr: new LineSplitter((line) => {
        errorOutput.add('stderr', line);
        request.onLine('stderr', line);
      }),
    };
    const events: LaunchEvents = {
      started: (startedPid) => {
        pid = startedPid;
        // An abort or timeout that came before the process existed.
        if (stopWhenStarted) stop(stopWhenStarted);
        const recorded = Promise.resolve(request.onStart?.(startedPid)).catch((error: unknown) => {
          throw new Error(`deploy-bot could not record its process first (${messageOf(error)})`);
        });
        Promise.all([recorded, ready]).then(
          () => step.go(adopted ? prestarted?.script : undefined),
          (error: unknown) => {
            notStarted = new StepNotStarted(
              `${request.label} was not started: ${messageOf(error)}`,
            );
            killGroup(startedPid, 'SIGKILL');
          },
        );
      },
      output: (stream, chunk) => {
        splitters[stream].push(chunk);
        const wait = request.backpressure?.();
        if (wait) {
          step.pause(stream);
          void wait.then(() => step.resume(stream));
        }
      },
      done: (code, signal) => {
        settle();
        splitters.stdout.end();
        splitters.stderr.end();
        // Children the failed step left behind in its group do not outlive it.
        if (pid !== undefined && ending === null && code !== 0) killGroup(pid, 'SIGKILL');
        const durationMs = elapsed();
        if (notStarted) reject(notStarted);
        else if (ending === 'timed_out') resolve({ outcome: 'timed_out', durationMs });
        else if (ending === 'aborted') resolve({ outcome: 'aborted', durationMs });
        else if (code === 0) resolve({ outcome: 'succeeded', durationMs });
        else {
          const output = errorOutput.text(request.redact);
          resolve({ outcome: 'failed', exitCode: code, signal, durationMs, output });
        }
      },
      failed: (message) => {
        settle();
        reject(new StepLaunchError(`${request.label} could not start: ${message}`));
      },
    };
    const adopted =
      prestarted && request.sandbox?.prestarted
        ? request.sandbox.prestarted.take(prestarted.prefix, events)
        : null;
    const step = adopted ?? launchThroughRunner({ argv, cwd: request.cwd, env, prefix }, events);
  });
}
