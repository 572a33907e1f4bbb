// The bot's settings from the environment, validated with zod. Missing Slack
// credentials are not an error (serve runs the engine alone and says what to
// set); malformed ones are.

import { z } from 'zod';
import { type Level, LOG_LEVELS } from './log.ts';

export type SlackMode =
  | { readonly kind: 'http'; readonly signingSecret: string }
  | { readonly kind: 'socket'; readonly appToken: string };

export type BotSettings = {
  readonly botToken: string;
  readonly mode: SlackMode;
  readonly port: number;
  readonly host: string | undefined;
  readonly slackApiUrl: string | undefined;
  readonly apiToken: string | undefined;
  readonly command: string;
  readonly botId: string | undefined;
  readonly botUserId: string | undefined;
  readonly logLevel: Level;
  /** How much lower the main thread's CPU priority is than the HTTP thread's (HTTP mode, Linux). */
  readonly workNice: number;
};

export type ReadBotSettings =
  | { readonly ok: true; readonly settings: BotSettings }
  | {
      readonly ok: false;
      /** What is missing and where to get it, for a person. */
      readonly missing: readonly string[];
      /** Settings for the parts that run without Slack (health, API). */
      readonly port: number;
      readonly host: string | undefined;
      readonly apiToken: string | undefined;
      readonly logLevel: Level;
    };

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const WORK_NICE_RANGE = 'DEPLOY_BOT_WORK_NICE must be a whole number from 0 (off) to 19';

const envSchema = z.object({
  SLACK_BOT_TOKEN: optionalText.pipe(
    z
      .string()
      .regex(
        /^xoxb-[A-Za-z0-9-]+$/,
        'SLACK_BOT_TOKEN must be a bot token (xoxb-…): OAuth & Permissions → Bot User OAuth Token',
      )
      .optional(),
  ),
  SLACK_SIGNING_SECRET: optionalText.pipe(
    z
      .string()
      .regex(
        /^\S{8,}$/,
        'SLACK_SIGNING_SECRET must be the app’s Signing Secret (no spaces): Basic Information → App Credentials',
      )
      .optional(),
  ),
  SLACK_APP_TOKEN: optionalText.pipe(
    z
      .string()
      .regex(
        /^xapp-[A-Za-z0-9-]+$/,
        'SLACK_APP_TOKEN must be an app-level token (xapp-…) with the connections:write scope: Basic Information → App-Level Tokens',
      )
      .optional(),
  ),
  SLACK_API_URL: optionalText.pipe(
    z
      .url('SLACK_API_URL must be a URL such as https://slack.com/api/')
      .transform((u) => (u.endsWith('/') ? u : `${u}/`))
      .optional(),
  ),
  SLACK_COMMAND: optionalText.pipe(
    z
      .string()
      .regex(/^\/[a-z0-9_-]{1,31}$/, 'SLACK_COMMAND must look like /deploy')
      .default('/deploy'),
  ),
  SLACK_BOT_ID: optionalText,
  SLACK_BOT_USER_ID: optionalText,
  PORT: optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,5}$/, 'PORT must be a port number (0-65535)')
      .transform(Number)
      .refine((n) => n <= 65535, 'PORT must be a port number (0-65535)')
      .optional(),
  ),
  HOST: optionalText,
  DEPLOY_API_TOKEN: optionalText.pipe(
    z.string().min(16, 'DEPLOY_API_TOKEN must be at least 16 characters').optional(),
  ),
  LOG_LEVEL: optionalText.pipe(z.enum(LOG_LEVELS).optional()),
  /** The older name of LOG_LEVEL, still read. */
  DEPLOY_BOT_LOG_LEVEL: optionalText.pipe(z.enum(LOG_LEVELS).optional()),
  DEPLOY_BOT_WORK_NICE: optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,2}$/, WORK_NICE_RANGE)
      .transform(Number)
      .refine((n) => n <= 19, WORK_NICE_RANGE)
      .default(10),
  ),
});

/** The environment variables the bot reads; an empty or blank one means "not set" (optionalText). */
export const BOT_ENV_NAMES = Object.keys(
  envSchema.shape,
) as readonly (keyof typeof envSchema.shape)[];

export class BotConfigError extends Error {
  override readonly name = 'BotConfigError';
}

const WHERE = {
  SLACK_BOT_TOKEN:
    'SLACK_BOT_TOKEN (xoxb-…): install the app to your workspace, then copy OAuth & Permissions → Bot User OAuth Token',
  SLACK_SIGNING_SECRET:
    'SLACK_SIGNING_SECRET: Basic Information → App Credentials → Signing Secret (for HTTP mode), or set SLACK_APP_TOKEN to use Socket Mode instead',
  SLACK_APP_TOKEN:
    'SLACK_APP_TOKEN (xapp-…, Socket Mode): Basic Information → App-Level Tokens → Generate, scope connections:write',
};

/** Reads the bot's settings; throws BotConfigError when a value is present but malformed. */
export function readBotSettings(env: NodeJS.ProcessEnv): ReadBotSettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new BotConfigError(
      `the Slack settings are invalid:\n  ${parsed.error.issues.map((i) => `${String(i.path[0] ?? '')}: ${i.message}`).join('\n  ')}`,
    );
  }
  const e = parsed.data;
  const common = {
    port: e.PORT ?? 3000,
    host: e.HOST ?? '127.0.0.1',
    apiToken: e.DEPLOY_API_TOKEN,
    logLevel: e.LOG_LEVEL ?? e.DEPLOY_BOT_LOG_LEVEL ?? 'info',
  };
  const missing: string[] = [];
  if (!e.SLACK_BOT_TOKEN) missing.push(WHERE.SLACK_BOT_TOKEN);
  if (!e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) missing.push(WHERE.SLACK_SIGNING_SECRET);
  if (!e.SLACK_BOT_TOKEN || missing.length > 0) return { ok: false, missing, ...common };
  const mode: SlackMode = e.SLACK_APP_TOKEN
    ? { kind: 'socket', appToken: e.SLACK_APP_TOKEN }
    : { kind: 'http', signingSecret: e.SLACK_SIGNING_SECRET ?? '' };
  return {
    ok: true,
    settings: {
      botToken: e.SLACK_BOT_TOKEN,
      mode,
      slackApiUrl: e.SLACK_API_URL,
      command: e.SLACK_COMMAND,
      botId: e.SLACK_BOT_ID,
      botUserId: e.SLACK_BOT_USER_ID,
      workNice: e.DEPLOY_BOT_WORK_NICE,
      ...common,
    },
  };
}

export { WHERE as CREDENTIAL_HELP };
