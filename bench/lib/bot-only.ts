// A diagnostic for the ack benchmark: what `deploy-bot serve` does, minus its
// in-process workers (the steps then run in a separate `deploy-bot worker`).
// Same modules, same settings from the environment; prints "deploy-bot serving".
//   DATABASE_URL=… DEPLOY_CONFIG=… SLACK_…=… node bench/lib/bot-only.ts

import { startBotFromEnv } from '../../src/bot/start.ts';
import { DeployCore } from '../../src/core/api/core.ts';
import { readSettings } from '../../src/core/settings.ts';
import { resolveDatabaseUrl } from '../../src/server/embedded-postgres.ts';

const settings = readSettings(process.env);
const core = await DeployCore.open({
  databaseUrl: await resolveDatabaseUrl(settings),
  dataDir: settings.dataDir,
  config: settings.configFile,
  poolSize: Math.min(32, settings.workerConcurrency + 6),
  applicationName: 'deploy-bot:serve',
});
const bot = await startBotFromEnv(core, process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
process.stdout.write('deploy-bot serving (the bot alone, no workers)\n');
process.once('SIGTERM', () => {
  void (async () => {
    await bot?.stop();
    await core.close();
    process.exit(0);
  })();
});
