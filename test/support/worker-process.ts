// A worker in a process of its own, for tests that kill workers.
// Usage: node test/support/worker-process.ts DATABASE_URL CONFIG_FILE DATA_DIR

import { DeployCore } from '../../src/core/api/core.ts';

const [url, config, dataDir] = process.argv.slice(2);
if (!url || !config || !dataDir) {
  process.stderr.write('usage: worker-process.ts DATABASE_URL CONFIG_FILE DATA_DIR\n');
  process.exit(2);
}
const core = await DeployCore.open({
  databaseUrl: url,
  config,
  dataDir,
  migrate: false,
  poolSize: 4,
});
const worker = await core.startWorker({
  heartbeatMs: Number(process.env.TEST_HEARTBEAT_MS ?? 200),
  staleMs: Number(process.env.TEST_STALE_MS ?? 1500),
  concurrency: Number(process.env.TEST_CONCURRENCY ?? 4),
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`ready ${worker.id}\n`);
const stop = async () => {
  await worker.stop({ graceMs: 2000 });
  await core.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
