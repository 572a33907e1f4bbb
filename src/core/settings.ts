// Process settings from the environment, validated once at start.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { formatIssuePath } from './config/load.ts';
import { ConfigError } from './errors.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLE_CONFIG = path.join(PROJECT_ROOT, 'examples', 'deploy.config.yaml');

const envSchema = z.object({
  DATABASE_URL: z.string().url('DATABASE_URL must be a postgres:// URL').optional(),
  DEPLOY_BOT_DATA_DIR: z.string().min(1).default('./.deploy-bot'),
  DEPLOY_CONFIG: z.string().min(1).optional(),
  DEPLOY_USER: z.string().optional(),
  DEPLOY_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  DEPLOY_HEARTBEAT_MS: z.coerce.number().int().min(50).default(2000),
  DEPLOY_STALE_MS: z.coerce.number().int().min(200).optional(),
  DEPLOY_STEP_SANDBOX: z
    .enum(['auto', 'required', 'off'], {
      error: 'DEPLOY_STEP_SANDBOX must be auto, required or off',
    })
    .optional(),
  DEPLOY_STEP_USER: z.string().optional(),
});

/** The environment variables the core reads (the bot reads its own: src/bot/config.ts). */
export const CORE_ENV_NAMES = Object.keys(
  envSchema.shape,
) as readonly (keyof typeof envSchema.shape)[];

/**
 * The product's own variables with a value: an empty or blank one
 * (`DATABASE_URL=`, as .env files and systemd units write it) means "not set".
 */
export function setVariables(
  env: NodeJS.ProcessEnv,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') out[name] = value;
  }
  return out;
}

export type Settings = {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** The config file, and whether it is the bundled example (no DEPLOY_CONFIG, no ./deploy.config.yaml). */
  readonly configFile: string;
  readonly usingExampleConfig: boolean;
  readonly user: string | undefined;
  readonly workerConcurrency: number;
  readonly heartbeatMs: number;
  readonly staleMs: number;
};

export function readSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: { config?: string } = {},
): Settings {
  const parsed = envSchema.safeParse(setVariables(env, CORE_ENV_NAMES));
  if (!parsed.success) {
    throw new ConfigError(
      'the environment is invalid',
      parsed.error.issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`),
    );
  }
  const e = parsed.data;
  let configFile = overrides.config ?? e.DEPLOY_CONFIG;
  let usingExampleConfig = false;
  if (!configFile) {
    if (existsSync('deploy.config.yaml')) configFile = 'deploy.config.yaml';
    else {
      configFile = EXAMPLE_CONFIG;
      usingExampleConfig = true;
    }
  }
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DEPLOY_BOT_DATA_DIR),
    configFile: path.resolve(configFile),
    usingExampleConfig,
    user: e.DEPLOY_USER || undefined,
    workerConcurrency: e.DEPLOY_WORKER_CONCURRENCY,
    heartbeatMs: e.DEPLOY_HEARTBEAT_MS,
    staleMs: e.DEPLOY_STALE_MS ?? e.DEPLOY_HEARTBEAT_MS * 5,
  };
}
