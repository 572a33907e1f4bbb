// Where `deploy-bot login` keeps its tokens: $XDG_CONFIG_HOME/deploy-bot/
// (default ~/.config/deploy-bot/), one entry per server, readable by the user
// only (0600 in a 0700 directory).

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const entrySchema = z.object({
  token: z.string().min(1),
  user: z.string(),
  tokenId: z.string().optional(),
  savedAt: z.string(),
});
const fileSchema = z.object({ servers: z.record(z.string(), entrySchema) });

export type StoredCredential = z.infer<typeof entrySchema>;

export function credentialsDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || path.join(os.homedir(), '.config');
  return path.join(base, 'deploy-bot');
}

export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(credentialsDir(env), 'credentials.json');
}

function readAll(env: NodeJS.ProcessEnv): z.infer<typeof fileSchema> {
  const file = credentialsFile(env);
  if (!existsSync(file)) return { servers: {} };
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new Error(
      `${file} is not a deploy-bot credentials file: delete it and run deploy-bot login again`,
    );
  }
  return parsed.data;
}

function writeAll(env: NodeJS.ProcessEnv, data: z.infer<typeof fileSchema>): void {
  const dir = credentialsDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = credentialsFile(env);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

export function loadCredential(
  server: string,
  env: NodeJS.ProcessEnv = process.env,
): StoredCredential | null {
  return readAll(env).servers[server] ?? null;
}

export function saveCredential(
  server: string,
  credential: StoredCredential,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const data = readAll(env);
  data.servers[server] = credential;
  writeAll(env, data);
  return credentialsFile(env);
}

export function forgetCredential(server: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const data = readAll(env);
  if (!(server in data.servers)) return false;
  delete data.servers[server];
  writeAll(env, data);
  return true;
}
