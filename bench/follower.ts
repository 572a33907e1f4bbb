// A log follower in a process of its own: prints the delay (ms) from each line's
// own timestamp (written by the step) to its arrival here, as JSON at the end.
import { DeployCore } from '../src/core/api/core.ts';
import { summarize } from './lib/stats.ts';

const [url, configFile, dataDir, runId, expected] = process.argv.slice(2);
const core = await DeployCore.open({
  databaseUrl: url!,
  config: configFile!,
  dataDir: dataDir!,
  migrate: false,
  poolSize: 2,
});
const delays: number[] = [];
let seen = 0;
await new Promise<void>((resolve) => {
  void core.followLogs(runId!, (lines) => {
    const now = performance.timeOrigin + performance.now();
    for (const l of lines) {
      const m = /^ts=(\d+(?:\.\d+)?)/.exec(l.line);
      if (!m) continue;
      delays.push(now - Number(m[1]));
      seen++;
    }
    if (seen >= Number(expected)) resolve();
  });
  process.stdout.write('following\n');
});
process.stdout.write(`${JSON.stringify(summarize(delays))}\n`);
await core.close();
process.exit(0);
