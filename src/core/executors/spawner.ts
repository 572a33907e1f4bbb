// The worker's side of the step runner (spawner-process.ts): one runner
// process per worker process, started on the first step and again if it ever
// stops. It keeps the worker alive only while steps run.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LaunchEvents, Launched, LaunchRequest } from './launch.ts';
import type { FromRunner, ToRunner } from './spawner-process.ts';

const RUNNER = fileURLToPath(new URL('./spawner-process.ts', import.meta.url));

/**
 * The runner starts with a minimal environment, never the server's: a step can
 * read its parent's /proc/PID/environ (that is the runner), and each step gets
 * its own environment from the worker anyway.
 */
export function runnerEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = { PATH: env.PATH ?? '/usr/bin:/bin' };
  for (const name of ['LANG', 'LC_ALL', 'TZ'] as const) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

type Pending = {
  readonly events: LaunchEvents;
  started: boolean;
  /** A sandbox started ahead, not let go yet: it does not keep the worker alive. */
  idle: boolean;
};

class StepRunner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private readonly steps = new Map<number, Pending>();

  launch(request: LaunchRequest, events: LaunchEvents): Launched {
    const id = this.nextId++;
    const pending: Pending = { events, started: false, idle: request.gate === 'script' };
    this.steps.set(id, pending);
    this.hold();
    const send = (message: ToRunner) => {
      void this.start().then((child) => child.send(message));
    };
    send({ t: 'launch', id, request });
    return {
      go: (script) => {
        pending.idle = false;
        this.hold();
        send(script === undefined ? { t: 'go', id } : { t: 'go', id, script });
      },
      cancel: () => send({ t: 'cancel', id }),
      pause: (stream) => send({ t: 'pause', id, stream }),
      resume: (stream) => send({ t: 'resume', id, stream }),
    };
  }

  private start(): Promise<ChildProcess> {
    const child = this.child;
    if (child && this.ready) return this.ready.then(() => child);
    const runner = spawn(
      process.execPath,
      ['--max-old-space-size=32', '--max-semi-space-size=1', RUNNER],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
        env: runnerEnv(),
      },
    );
    this.child = runner;
    this.ready = new Promise<void>((resolve) => {
      runner.on('message', (message: FromRunner) => {
        if (message.t === 'ready') resolve();
        else this.receive(message);
      });
    });
    runner.once('exit', (code, signal) => this.lost(runner, `exited (${signal ?? code})`));
    runner.once('error', (error) => this.lost(runner, error.message));
    this.hold();
    return this.ready.then(() => runner);
  }

  private receive(message: Exclude<FromRunner, { t: 'ready' }>) {
    const step = this.steps.get(message.id);
    if (!step) return;
    switch (message.t) {
      case 'started':
        step.started = true;
        step.events.started(message.pid);
        break;
      case 'output':
        step.events.output(message.stream, message.chunk);
        break;
      case 'done':
        this.steps.delete(message.id);
        this.hold();
        step.events.done(message.code, message.signal);
        break;
      case 'failed':
        this.steps.delete(message.id);
        this.hold();
        step.events.failed(message.message);
        break;
    }
  }

  /** The runner stopped: its steps end as killed (their pipes are gone). */
  private lost(runner: ChildProcess, why: string) {
    if (this.child !== runner) return;
    this.child = null;
    this.ready = null;
    const steps = [...this.steps.values()];
    this.steps.clear();
    for (const step of steps) {
      if (step.started) step.events.done(null, 'SIGKILL');
      else step.events.failed(`deploy-bot's step runner ${why}`);
    }
  }

  /** Keeps the process alive while steps run, and not a moment longer. */
  private hold() {
    const child = this.child;
    if (!child) return;
    if ([...this.steps.values()].some((step) => !step.idle)) {
      child.ref();
      child.channel?.ref();
    } else {
      child.unref();
      child.channel?.unref();
    }
  }
}

const runner = new StepRunner();

/** Starts a step through this process's step runner. */
export function launchThroughRunner(request: LaunchRequest, events: LaunchEvents): Launched {
  return runner.launch(request, events);
}
