// Diagnosis (not part of npm run bench): a step started from the worker's own
// process (fork of a ~180 MB process, the event loop waits for the exec) against
// one started through the step runner process, in the same run:
//   node --max-semi-space-size=8 --max-old-space-size=192 bench/lib/step-launch-ab.ts

import { launchStep } from '../../src/core/executors/launch.ts';
import { launchThroughRunner } from '../../src/core/executors/spawner.ts';
import { cpuOfTree } from './cpu.ts';

await import('../../src/core/api/core.ts');
(globalThis as { ballast?: unknown }).ballast = Array.from({ length: 250000 }, (_, i) => ({
  i,
  s: `x${i}`.repeat(20),
}));
const req = { argv: ['/bin/true'], cwd: '/tmp', env: { PATH: '/usr/bin:/bin' } };
async function one(launch: typeof launchStep) {
  const t = performance.now();
  let blocked = 0;
  await new Promise<void>((resolve) => {
    const b0 = performance.now();
    const s = launch(req, {
      started: () => s.go(),
      output: () => {},
      done: () => resolve(),
      failed: (m) => {
        throw new Error(m);
      },
    });
    blocked = performance.now() - b0;
  });
  return { wall: performance.now() - t, blocked };
}
for (const [name, launch] of [
  ['inline', launchStep],
  ['runner', launchThroughRunner],
  ['inline', launchStep],
  ['runner', launchThroughRunner],
] as const) {
  await one(launch);
  const c0 = cpuOfTree(process.pid);
  let wall = 0;
  let blocked = 0;
  const n = 200;
  for (let i = 0; i < n; i++) {
    const r = await one(launch);
    wall += r.wall;
    blocked += r.blocked;
  }
  const c1 = cpuOfTree(process.pid);
  console.log(
    `${name}: rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB, per step: wall ${(wall / n).toFixed(2)} ms, event loop blocked ${(blocked / n).toFixed(2)} ms, cpu self ${(((c1.self - c0.self) * 1000) / n).toFixed(2)} ms + children ${(((c1.children - c0.children) * 1000) / n).toFixed(2)} ms`,
  );
}
process.exit(0);
