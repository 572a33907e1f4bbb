// Builds and starts the Slack bot over a running core: the Bolt app with its
// listeners, the HTTP server (Slack endpoint in HTTP mode, health and the JSON
// API always), Socket Mode when an app token is given, the outbox that keeps
// run messages true, and user-group resolution for the approver policy.

import { hostname } from 'node:os';
import { App, type AuthorizeResult, SocketModeReceiver } from '@slack/bolt';
import { z } from 'zod';
import { BotConfigError, type SlackMode } from './config.ts';
import type { ApiForward } from './http/front-protocol.ts';
import { BotHttpServer, EVENTS_PATH } from './http/receiver.ts';
import { botRoutes } from './http/routes.ts';
import { registerApprovePlan } from './listeners/actions/approve-plan.ts';
import { registerCancelRun } from './listeners/actions/cancel-run.ts';
import { registerConfirmApply } from './listeners/actions/confirm-apply.ts';
import { registerRunAgain } from './listeners/actions/run-again.ts';
import { registerUnknownActions } from './listeners/actions/run-button.ts';
import { registerDeployCommand } from './listeners/commands/deploy.ts';
import type { BotContext } from './listeners/context.ts';
import { registerAppHome } from './listeners/events/app-home.ts';
import { registerDeployForm } from './listeners/views/deploy-form.ts';
import { registerNoteForm } from './listeners/views/note-form.ts';
import { boltLogger, createLog, type Log } from './log.ts';
import { createHomePublisher, type HomePublisher, type HomeTuning } from './outbox/home.ts';
import { createOutbox, type Outbox, type OutboxTuning } from './outbox/outbox.ts';
import type { BotPort } from './port.ts';
import { classifySlackError, createSlackClient, slackErrorText } from './slack/client.ts';
import { createSlackGroups } from './slack/groups.ts';

export type BotOptions = {
  readonly core: BotPort;
  readonly botToken: string;
  readonly mode: SlackMode;
  /** HTTP port (0: any free port) and address. */
  readonly port: number;
  readonly host?: string | undefined;
  readonly slackApiUrl?: string | undefined;
  /** Bearer token of the JSON API; without one the API is off. */
  readonly apiToken?: string | undefined;
  readonly command?: string | undefined;
  /** The bot's ids; when both are known Slack's auth.test is not called. */
  readonly botId?: string | undefined;
  readonly botUserId?: string | undefined;
  readonly log?: Log;
  /** HTTP mode: how much lower the main thread's CPU priority is made than the HTTP thread's (0: unchanged). */
  readonly workNice?: number;
  readonly outbox?: Partial<OutboxTuning>;
  readonly home?: Partial<HomeTuning>;
  readonly groupsTtlMs?: number;
  /** What answers /api/v1/… that the HTTP front hands over (src/server/api/server.ts). */
  readonly api?: ApiForward | null | undefined;
};

export type RunningBot = {
  /** `http://host:port` of the HTTP server. */
  readonly url: string;
  readonly port: number;
  readonly mode: SlackMode['kind'];
  readonly app: App;
  readonly outbox: Outbox;
  readonly home: HomePublisher;
  stop(): Promise<void>;
};

const authTestResult = z.object({
  ok: z.literal(true),
  user_id: z.string(),
  bot_id: z.string().optional(),
  team: z.string().optional(),
});

export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { core } = options;
  const log = options.log ?? createLog();
  const sdkLogger = boltLogger(log);
  const client = createSlackClient({
    token: options.botToken,
    slackApiUrl: options.slackApiUrl,
    logger: sdkLogger,
  });

  // Who the bot is. Without it Bolt would call auth.test on every start and
  // fail every request while Slack is unreachable; here a refused token stops
  // the start with a clear message, an unreachable Slack only delays it.
  const identity = { botId: options.botId, botUserId: options.botUserId };
  if (identity.botId === undefined || identity.botUserId === undefined) {
    try {
      const result = authTestResult.parse(await client.auth.test());
      identity.botId = result.bot_id;
      identity.botUserId = result.user_id;
      log.info('connected to Slack', { team: result.team, botUserId: result.user_id });
    } catch (error) {
      const failure = classifySlackError(error);
      if (failure.kind === 'auth') {
        throw new BotConfigError(
          `Slack refused SLACK_BOT_TOKEN (${slackErrorText(failure)}): copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions, after installing the app`,
        );
      }
      log.warn('could not reach Slack to check the token; going on', {
        error: slackErrorText(failure),
      });
    }
  }

  const groups = createSlackGroups({
    client,
    log,
    ...(options.groupsTtlMs !== undefined ? { ttlMs: options.groupsTtlMs } : {}),
  });
  core.setGroupMembership(groups);

  const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const outbox = createOutbox({
    core,
    client,
    log,
    owner,
    ...(options.outbox ? { tuning: options.outbox } : {}),
  });

  const mode = options.mode;
  let socketConnected = false;
  const server = new BotHttpServer({
    signingSecret: mode.kind === 'http' ? mode.signingSecret : null,
    port: options.port,
    host: options.host,
    log,
    workNice: options.workNice ?? 0,
    api: options.api,
    routes: botRoutes({
      core,
      apiToken: options.apiToken,
      log,
      ready: () =>
        mode.kind === 'socket' ? { slack: socketConnected ? 'connected' : 'connecting' } : {},
    }),
  });
  const receiver =
    mode.kind === 'socket'
      ? new SocketModeReceiver({
          appToken: mode.appToken,
          logger: sdkLogger,
          installerOptions: {
            clientOptions: options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {},
          },
        })
      : server;

  const authorization: AuthorizeResult = {
    botToken: options.botToken,
    ...(identity.botId !== undefined ? { botId: identity.botId } : {}),
    ...(identity.botUserId !== undefined ? { botUserId: identity.botUserId } : {}),
  };
  const app = new App({
    receiver,
    authorize: async () => authorization,
    logger: sdkLogger,
    convoStore: false,
    clientOptions: {
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
      retryConfig: { retries: 0 },
    },
  });
  app.error(async (error) => {
    log.error('unhandled error in a listener', { error });
  });

  const ctx: BotContext = {
    core,
    outbox,
    client,
    log,
    command: options.command ?? '/deploy',
  };
  registerDeployCommand(app, ctx);
  registerApprovePlan(app, ctx);
  registerConfirmApply(app, ctx);
  registerCancelRun(app, ctx);
  registerDeployForm(app, ctx);
  registerRunAgain(app, ctx);
  registerNoteForm(app, ctx);
  const home = createHomePublisher({
    core,
    client,
    log,
    command: ctx.command,
    ...(options.home ? { tuning: options.home } : {}),
  });
  registerAppHome(app, ctx, home);
  registerUnknownActions(app, ctx);

  await outbox.start();
  await home.start();
  let address: Awaited<ReturnType<BotHttpServer['start']>>;
  try {
    address = await server.start();
  } catch (error) {
    await home.stop();
    await outbox.stop();
    core.setGroupMembership(undefined);
    throw error;
  }
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;

  let stopped = false;
  if (receiver instanceof SocketModeReceiver) {
    receiver.client.on('connected', () => {
      socketConnected = true;
      log.info('Socket Mode connected');
    });
    receiver.client.on('disconnected', () => {
      socketConnected = false;
    });
    // Connecting may take long (the client waits and retries by itself while
    // Slack is unreachable): serve goes on meanwhile; a refused app token stops it.
    let retry: NodeJS.Timeout | undefined;
    const connect = (): Promise<unknown> =>
      app.start().then(
        () => 'connected',
        (error: unknown) => {
          if (!stopped) {
            log.warn('Socket Mode could not connect; trying again in 10 s', {
              error: slackErrorText(classifySlackError(error)),
            });
            retry = setTimeout(() => void connect(), 10_000);
            retry.unref();
          }
          return error;
        },
      );
    const outcome = await Promise.race([
      connect(),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 10_000).unref()),
    ]);
    if (outcome !== 'connected' && outcome !== 'pending') {
      const failure = classifySlackError(outcome);
      if (failure.kind === 'auth') {
        stopped = true;
        clearTimeout(retry);
        await server.stop();
        await home.stop();
        await outbox.stop();
        core.setGroupMembership(undefined);
        throw new BotConfigError(
          `Slack refused SLACK_APP_TOKEN (${slackErrorText(failure)}): generate an app-level token with connections:write (Basic Information → App-Level Tokens)`,
        );
      }
    }
  }
  log.info('Slack bot started', {
    mode: mode.kind,
    url,
    ...(mode.kind === 'http' ? { events: `${url}${EVENTS_PATH}` } : {}),
  });

  let stopping: Promise<void> | null = null;
  return {
    url,
    port: address.port,
    mode: mode.kind,
    app,
    outbox,
    home,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        if (receiver instanceof SocketModeReceiver) await app.stop().catch(() => {});
        await server.stop();
        await home.stop();
        await outbox.stop();
        core.setGroupMembership(undefined);
        log.info('Slack bot stopped');
      })();
      return stopping;
    },
  };
}
