// A step's sandbox started before the step is known: as soon as its
// workspace's root exists, so that bubblewrap's set-up (namespaces, mounts,
// setpriv) happens while deploy-bot copies the source and restores the
// artifacts, not after. The process waits at its gate; the step's program
// runs only when runStep has recorded its pid and sent the command.

import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { LaunchEvents, Launched, OutputStream } from './launch.ts';
import { type StepSandbox, sandboxLaunch, sandboxStatus } from './sandbox.ts';
import { launchThroughRunner } from './spawner.ts';

type Buffered =
  | { readonly t: 'output'; readonly stream: OutputStream; readonly chunk: string }
  | { readonly t: 'done'; readonly code: number | null; readonly signal: NodeJS.Signals | null }
  | { readonly t: 'failed'; readonly message: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A shell word that means exactly `text`. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * What the gate runs: the step's environment (what differs from the one the
 * process started with), its working directory and its program. Null when a
 * name the shell cannot set would have to change (the step is then started
 * the ordinary way).
 */
export function gateScript(
  argv: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  startedWith: Readonly<Record<string, string>>,
): string | null {
  const lines: string[] = [];
  for (const name of Object.keys(startedWith)) {
    if (Object.hasOwn(env, name)) continue;
    if (!NAME.test(name)) return null;
    lines.push(`unset ${name}`);
  }
  for (const [name, value] of Object.entries(env)) {
    if (startedWith[name] === value && NAME.test(name)) continue;
    if (!NAME.test(name)) return null;
    lines.push(`export ${name}=${quote(value)}`);
  }
  // dash exports PWD (as the ordinary gate's does) and, after cd, OLDPWD.
  lines.push(`cd ${quote(cwd)} || exit 126`, 'unset OLDPWD');
  lines.push(`exec ${argv.map(quote).join(' ')}`);
  let marker = `deploy-bot-gate-${randomUUID()}`;
  const text = lines.join('\n');
  while (text.includes(marker)) marker = `deploy-bot-gate-${randomUUID()}`;
  return `${marker}\n${text}\n${marker}\n`;
}

export class PrestartedSandbox {
  /** The bwrap command line it was started with (its working directory: the workspace root). */
  readonly prefix: readonly string[];
  /** The environment it was started with. */
  readonly env: Readonly<Record<string, string>>;
  private readonly launched: Launched;
  private pid: number | null = null;
  private ended = false;
  private taken = false;
  /** Whether a step took it (and runs in it). */
  adopted = false;
  private readonly onEnd: (() => void)[] = [];
  private readonly buffered: Buffered[] = [];
  private events: LaunchEvents | null = null;

  constructor(prefix: readonly string[], cwd: string, env: Readonly<Record<string, string>>) {
    this.prefix = prefix;
    this.env = env;
    this.launched = launchThroughRunner(
      { argv: [], cwd, env, prefix, gate: 'script' },
      {
        started: (pid) => {
          this.pid = pid;
          if (this.events) this.events.started(pid);
        },
        output: (stream, chunk) => {
          if (this.events) this.events.output(stream, chunk);
          else this.buffered.push({ t: 'output', stream, chunk });
        },
        done: (code, signal) => {
          this.ended = true;
          if (this.events) this.events.done(code, signal);
          else this.buffered.push({ t: 'done', code, signal });
          if (this.adopted) for (const fn of this.onEnd.splice(0)) fn();
        },
        failed: (message) => {
          this.ended = true;
          if (this.events) this.events.failed(message);
          else this.buffered.push({ t: 'failed', message });
        },
      },
    );
  }

  /**
   * Hands the waiting process to a step whose sandbox has exactly this
   * command line; null (and it is let go) otherwise, or when it already ended.
   * `go` then sends the gate script.
   */
  take(prefix: readonly string[], events: LaunchEvents): Launched | null {
    if (this.taken) return null;
    this.taken = true;
    if (
      this.ended ||
      prefix.length !== this.prefix.length ||
      prefix.some((a, i) => a !== this.prefix[i])
    ) {
      this.launched.cancel();
      return null;
    }
    this.adopted = true;
    // Whatever happened before the step took it is told in order, after this returns.
    queueMicrotask(() => {
      if (this.pid !== null) events.started(this.pid);
      for (const b of this.buffered.splice(0)) {
        if (b.t === 'output') events.output(b.stream, b.chunk);
        else if (b.t === 'done') events.done(b.code, b.signal);
        else events.failed(b.message);
      }
      this.events = events;
    });
    return this.launched;
  }

  /** Called when the step that took it has ended (its process exited). */
  whenStepEnds(fn: () => void): void {
    this.onEnd.push(fn);
  }

  /** Not taken by a step: its gate exits and nothing runs. */
  cancel(): void {
    if (this.taken) return;
    this.taken = true;
    this.launched.cancel();
  }
}

/**
 * Starts the sandbox of a step that is not known yet, when steps run in
 * bubblewrap, with the environment the step is expected to have; null when
 * steps run without bubblewrap (nothing to hide then).
 */
export function prestartSandbox(
  sandbox: StepSandbox,
  env: Readonly<Record<string, string>>,
): PrestartedSandbox | null {
  const status = sandboxStatus();
  if (!status.active) return null;
  const launch = sandboxLaunch(status, sandbox, env, sandbox.workspaceRoot, sandbox.workspaceRoot);
  return new PrestartedSandbox(launch.prefix, sandbox.workspaceRoot, launch.env);
}

/** What a deployment's sandboxes have in common (all but the workspace). */
export type SandboxShape = Omit<StepSandbox, 'workspaceRoot'>;

/** A step's sandbox, with the one set up ahead for it when there is one (see above). */
export type SandboxedStep = StepSandbox & {
  readonly prestarted?: PrestartedSandbox | null | undefined;
};

/** A sandbox waiting for a deployment's next step, with its own empty workspace root. */
export type WarmSandbox = { readonly root: string; readonly sandbox: PrestartedSandbox };

const warm = new Map<string, WarmSandbox>();
const starting = new Set<string>();
/** At most this many deployments have a sandbox waiting in one worker process. */
const MAX_WARM = 8;
let slots = 0;

function shapeKey(shape: SandboxShape, env: Readonly<Record<string, string>>): string {
  return JSON.stringify([shape.stateDir, shape.dataDir, shape.config, env.PATH ?? '']);
}

function discard(entry: WarmSandbox) {
  entry.sandbox.cancel();
  void rm(entry.root, { recursive: true, force: true }).catch((error: unknown) =>
    process.stderr.write(`deploy-bot: could not remove ${entry.root}: ${String(error)}\n`),
  );
}

/** The sandbox waiting for this deployment's next step, if there is one (taken: used once). */
export function takeWarmSandbox(
  shape: SandboxShape,
  env: Readonly<Record<string, string>>,
): WarmSandbox | null {
  const key = shapeKey(shape, env);
  const entry = warm.get(key);
  if (!entry) return null;
  warm.delete(key);
  return entry;
}

/**
 * After a deployment's step, starts the sandbox its next step will use, so
 * that bubblewrap's set-up is done before that step is even claimed. Its
 * workspace root is an empty directory of its own (the next step's copy goes
 * there); it waits at its gate and runs nothing until a step takes it.
 */
export async function warmSandbox(
  shape: SandboxShape,
  env: Readonly<Record<string, string>>,
): Promise<void> {
  if (!sandboxStatus().active) return;
  const key = shapeKey(shape, env);
  if (warm.has(key) || starting.has(key)) return;
  starting.add(key);
  try {
    slots += 1;
    const root = path.join(shape.dataDir, 'workspaces', `ahead-${process.pid}-${slots}`);
    await mkdir(root, { recursive: true });
    await mkdir(shape.stateDir, { recursive: true });
    const sandbox = prestartSandbox({ ...shape, workspaceRoot: root }, env);
    if (!sandbox) {
      await rm(root, { recursive: true, force: true });
      return;
    }
    warm.set(key, { root, sandbox });
    for (const [oldest, entry] of warm) {
      if (warm.size <= MAX_WARM) break;
      warm.delete(oldest);
      discard(entry);
    }
  } finally {
    starting.delete(key);
  }
}
