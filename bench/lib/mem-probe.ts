// Diagnostic preload (node --import bench/lib/mem-probe.ts): appends the
// process's memory, as V8 and Node see it, to $BENCH_MEM_PROBE every 200 ms.
// Used to explain an RSS figure (heap vs. code vs. buffers); not in the numbers.

import { appendFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.BENCH_MEM_PROBE;
if (file) {
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(
      v8.getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 2 ** 20)]),
    );
    appendFileSync(
      file,
      `${JSON.stringify({
        at: Date.now(),
        rss: Math.round(m.rss / 2 ** 20),
        heapTotal: Math.round(m.heapTotal / 2 ** 20),
        heapUsed: Math.round(m.heapUsed / 2 ** 20),
        external: Math.round(m.external / 2 ** 20),
        arrayBuffers: Math.round(m.arrayBuffers / 2 ** 20),
        spaces,
      })}\n`,
    );
  }, 200);
  timer.unref();
}
