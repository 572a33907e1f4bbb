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
  const parsed = envSchema.safeParse(env);
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
