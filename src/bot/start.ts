// Starts the Slack bot beside the workers (`deploy-bot serve`). Without Slack
// credentials the engine runs alone and this says what to set and where to
// find it; malformed credentials stop the start with the reason.

import type { DeployCore } from '../core/api/core.ts';
import { errorMessage } from '../core/errors.ts';
import { readLogSettings } from '../core/logs/logger.ts';
import { startApiServer } from '../server/api/server.ts';
import { startBot } from './app.ts';
import { readBotSettings } from './config.ts';
import { BotHttpServer } from './http/receiver.ts';
import { botRoutes } from './http/routes.ts';
import { localBotPort } from './local-port.ts';
import { createLog } from './log.ts';
import { migrateBotTables } from './store/migrate.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export type Bot = { stop(): Promise<void> };

export async function startBotFromEnv(
  core: DeployCore,
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<Bot | null> {
  // The bot's own tables, after the core's (DeployCore.open migrated those).
  await migrateBotTables(core.connection.url);
  const port = localBotPort(core);
  const read = readBotSettings(env);
  if (!read.ok) {
    io.out(
      [
        'Slack is not configured: running the engine only (the CLI and deploy-tui work as usual).',
        'To connect Slack, create an app from manifest.yaml (https://api.slack.com/apps → Create New App → From a manifest), install it, and set:',
        ...read.missing.map((m) => `  - ${m}`),
        'Then restart `deploy-bot serve`. Step by step: README, "Slack setup".',
      ].join('\n'),
    );
    // The API and health checks work without Slack.
    const log = createLog({ level: read.logLevel, format: readLogSettings(env).format });
    const api = await startApiServer({ core, log: (msg, fields) => log.error(msg, fields) });
    const server = new BotHttpServer({
      signingSecret: null,
      port: read.port,
      host: read.host,
      log,
      api: api.handle,
      routes: botRoutes({ core: port, apiToken: read.apiToken, log }),
    });
    let address: Awaited<ReturnType<BotHttpServer['start']>>;
    try {
      address = await server.start();
    } catch (error) {
      await api.stop();
      // Only the legacy DEPLOY_API_TOKEN asked for the server explicitly.
      if (read.apiToken !== undefined) throw error;
      io.err(
        `deploy-bot: the HTTP API could not listen on ${read.host}:${read.port} (${errorMessage(error)}): the engine runs without it; set PORT (and HOST) to a free port for /api/v1, /healthz and /readyz`,
      );
      return null;
    }
    io.out(
      `HTTP API and health checks on port ${address.port} of ${address.address} (/api/v1, /api/runs, /metrics, /healthz, /readyz).`,
    );
    return {
      stop: async () => {
        await server.stop();
        await api.stop();
      },
    };
  }
  const s = read.settings;
  const log = createLog({ level: s.logLevel, format: readLogSettings(env).format });
  const api = await startApiServer({ core, log: (msg, fields) => log.error(msg, fields) });
  const bot = await startBot({
    core: port,
    botToken: s.botToken,
    mode: s.mode,
    port: s.port,
    host: s.host,
    slackApiUrl: s.slackApiUrl,
    apiToken: s.apiToken,
    command: s.command,
    botId: s.botId,
    botUserId: s.botUserId,
    workNice: s.workNice,
    log,
    api: api.handle,
  }).catch(async (error: unknown) => {
    await api.stop();
    throw error;
  });
  io.out(
    bot.mode === 'http'
      ? `Slack bot listening on port ${bot.port}: set the app's Request URL (slash command and Interactivity) to https://<this host>/slack/events. Health: /healthz, /readyz; API: /api/v1${s.apiToken ? ', /api/runs' : ''}.`
      : `Slack bot connected with Socket Mode (no public URL needed). Health on port ${bot.port}: /healthz, /readyz; API: /api/v1${s.apiToken ? ', /api/runs' : ''}.`,
  );
  return {
    stop: async () => {
      await bot.stop();
      await api.stop();
    },
  };
}
