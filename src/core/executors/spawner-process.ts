// The step runner: a small process of its own that starts the steps of one
// worker and relays their output. fork() copies the whole address space of the
// process that calls it, so a step started from this ~40 MB process costs a
// fraction of one started from the worker (150 MB and more), and the worker's
// event loop never waits for a fork. It exits when its worker goes away.

import {
  type LaunchEvents,
  type Launched,
  type LaunchRequest,
  launchStep,
  type OutputStream,
} from './launch.ts';

export type ToRunner =
  | { readonly t: 'launch'; readonly id: number; readonly request: LaunchRequest }
  | { readonly t: 'go'; readonly id: number; readonly script?: string }
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'pause' | 'resume'; readonly id: number; readonly stream: OutputStream };

export type FromRunner =
  | { readonly t: 'ready' }
  | { readonly t: 'started'; readonly id: number; readonly pid: number }
  | {
      readonly t: 'output';
      readonly id: number;
      readonly stream: OutputStream;
      readonly chunk: string;
    }
  | {
      readonly t: 'done';
      readonly id: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
    }
  | { readonly t: 'failed'; readonly id: number; readonly message: string };

function serve() {
  const send = (message: FromRunner) => process.send?.(message);
  const steps = new Map<number, Launched>();
  process.on('message', (message: ToRunner) => {
    switch (message.t) {
      case 'launch': {
        const { id } = message;
        const events: LaunchEvents = {
          started: (pid) => send({ t: 'started', id, pid }),
          output: (stream, chunk) => send({ t: 'output', id, stream, chunk }),
          done: (code, signal) => {
            steps.delete(id);
            send({ t: 'done', id, code, signal });
          },
          failed: (text) => {
            steps.delete(id);
            send({ t: 'failed', id, message: text });
          },
        };
        try {
          steps.set(id, launchStep(message.request, events));
        } catch (error) {
          events.failed(error instanceof Error ? error.message : String(error));
        }
        break;
      }
      case 'go':
        steps.get(message.id)?.go(message.script);
        break;
      case 'cancel':
        steps.get(message.id)?.cancel();
        break;
      case 'pause':
        steps.get(message.id)?.pause(message.stream);
        break;
      case 'resume':
        steps.get(message.id)?.resume(message.stream);
        break;
    }
  });
  // The worker is gone: its gated steps read end-of-file and never run.
  process.on('disconnect', () => process.exit(0));
  send({ t: 'ready' });
}

if (process.send) serve();
