// Diagnosis: how long a thread that wants the CPU waits for it. A thread at the
// normal priority (as the ack thread runs) sleeps 2 ms at a time and records how
// late it wakes; on an idle machine that is a few microseconds, on a busy one it
// is the time it queued for a core. Runs in a worker thread of the calling
// process, so it measures the machine, not any one app.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const SLEEP_MS = 2;
/** Samples kept at most (a minute of 2 ms sleeps). */
const CAPACITY = 30_000;

type Shared = { readonly control: SharedArrayBuffer; readonly samples: SharedArrayBuffer };

export type WakeupProbe = {
  /** Stops the probe; how late each wake-up was, ms. */
  stop(): Promise<number[]>;
};

export async function startWakeupProbe(): Promise<WakeupProbe> {
  // control[0]: 1 = stop; control[1]: samples written.
  const shared: Shared = {
    control: new SharedArrayBuffer(8),
    samples: new SharedArrayBuffer(CAPACITY * 8),
  };
  const worker = new Worker(new URL(import.meta.url), { workerData: shared, name: 'wakeup-probe' });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    async stop() {
      const control = new Int32Array(shared.control);
      Atomics.store(control, 0, 1);
      Atomics.notify(control, 0);
      await new Promise((resolve) => worker.once('exit', resolve));
      const n = Atomics.load(control, 1);
      return Array.from(new Float64Array(shared.samples, 0, n));
    },
  };
}

if (!isMainThread && parentPort !== null) {
  const { control: c, samples: s } = workerData as Shared;
  const control = new Int32Array(c);
  const samples = new Float64Array(s);
  parentPort.postMessage('ready');
  let n = 0;
  while (Atomics.load(control, 0) === 0 && n < CAPACITY) {
    const start = performance.now();
    // Sleeps SLEEP_MS unless told to stop.
    Atomics.wait(control, 0, 0, SLEEP_MS);
    const late = performance.now() - start - SLEEP_MS;
    if (Atomics.load(control, 0) !== 0) break;
    samples[n++] = Math.max(0, late);
    Atomics.store(control, 1, n);
  }
  parentPort.close();
}
