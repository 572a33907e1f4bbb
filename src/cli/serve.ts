// `deploy-bot serve` and `deploy-bot worker`: the long-running processes.

import { z } from 'zod';
import { DeployCore } from '../core/api/core.ts';
import { loadConfig } from '../core/config/load.ts';
import { describePublication } from '../core/config/versions.ts';
import { errorMessage } from '../core/errors.ts';
import { describeSandbox, sandboxStatus } from '../core/executors/sandbox.ts';
import { configureProcessLog, processLog, readLogSettings } from '../core/logs/logger.ts';
import { startRetentionSchedule } from '../core/retention/schedule.ts';
import { DEFAULT_RETENTION } from '../core/retention/settings.ts';
import type { Settings } from '../core/settings.ts';
import { resolveDatabaseUrl } from '../server/embedded-postgres.ts';
import { startMetricsFromEnv } from './metrics-port.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export type ServeOptions = {
  readonly settings: Settings;
  readonly withBot: boolean;
  readonly concurrency: string | undefined;
  readonly io: Io;
};

/** Something serve runs beside the workers (the Slack bot). */
export type Frontend = { stop(): Promise<void> };

export async function serve(options: ServeOptions): Promise<number> {
  const { settings, io } = options;
  const concurrency =
    options.concurrency === undefined
      ? settings.workerConcurrency
      : z.coerce.number().int().min(1).max(256).parse(options.concurrency);
  configureProcessLog(readLogSettings(process.env));
  const core = await DeployCore.open({
    databaseUrl: await resolveDatabaseUrl(settings),
    dataDir: settings.dataDir,
    config: settings.configFile,
    poolSize: Math.min(32, concurrency + 6),
    applicationName: options.withBot ? 'deploy-bot:serve' : 'deploy-bot:worker',
  });
  const worker = await core.startWorker({
    concurrency,
    heartbeatMs: settings.heartbeatMs,
    staleMs: settings.staleMs,
    log: (line, fields) => processLog().warn(line, { component: 'worker', ...fields }),
  });
  const frontends: Frontend[] = [];
  const where = settings.databaseUrl
    ? 'DATABASE_URL'
    : `embedded PostgreSQL in ${settings.dataDir}`;
  const deployments = await core.listDeployments();
  if (core.publication) {
    const sentence = describePublication(core.publication);
    if (core.publication.replaced) io.err(`deploy-bot: ${sentence}`);
    else io.out(`deploy-bot: ${sentence}`);
  }
  io.out(
    `deploy-bot ${options.withBot ? 'serving' : 'worker'}: ${deployments.length} deployment(s) from ${settings.configFile}` +
      `${settings.usingExampleConfig ? ' (the bundled example; set DEPLOY_CONFIG for your own)' : ''}; database: ${where}; worker ${worker.id}, ${concurrency} step(s) at once`,
  );
  // The daily retention pass (retention: in the config, read again at each pass).
  try {
    frontends.push(
      await startRetentionSchedule({
        url: core.connection.url,
        sql: core.connection.sql,
        retention: () => loadConfig(settings.configFile).retention ?? DEFAULT_RETENTION,
        log: processLog(),
      }),
    );
  } catch (error) {
    io.err(`deploy-bot: ${errorMessage(error)}`);
    await worker.stop({ graceMs: 1000 });
    await core.close();
    return 1;
  }
  const metricsPort = process.env.METRICS_PORT;
  if (metricsPort !== undefined && metricsPort !== '') {
    try {
      frontends.push(await startMetricsFromEnv(core, metricsPort, process.env.METRICS_HOST, io));
    } catch (error) {
      io.err(`deploy-bot: ${errorMessage(error)}`);
      await worker.stop({ graceMs: 1000 });
      await core.close();
      return 1;
    }
  }
  const sandbox = sandboxStatus();
  io.out(`deploy-bot: ${describeSandbox(sandbox)}`);
  if (sandbox.warning) io.err(`deploy-bot: warning: ${sandbox.warning}`);
  if (options.withBot) {
    try {
      const { startBotFromEnv } = await import('../bot/start.ts');
      const bot = await startBotFromEnv(core, process.env, io);
      if (bot) frontends.push(bot);
    } catch (error) {
      io.err(`deploy-bot: the Slack bot could not start: ${errorMessage(error)}`);
      await worker.stop({ graceMs: 1000 });
      await core.close();
      return 1;
    }
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      io.err(`deploy-bot: ${signal}: stopping (running steps get up to 30s to finish)…`);
      for (const f of frontends) await f.stop().catch((e: unknown) => io.err(errorMessage(e)));
      await worker.stop({ graceMs: 30_000 });
      await core.close();
      resolve(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}
