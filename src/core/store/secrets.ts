// Secrets at rest: sensitive variable values (runs.secret_variables), sensitive
// defaults in a run's config snapshot (runs.config) and plan artifacts
// (plan_artifacts.content) are stored encrypted with AES-256-GCM. The key comes
// from DEPLOY_SECRET_KEY, or from a key file deploy-bot creates (0600) in the
// data directory. Every read of a secret value goes through decryptSecret (or
// decryptBytes for artifacts): a wrong or lost key is an error that names what
// could not be read, never garbage.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Deployment } from '../config/load.ts';
import { ConfigError } from '../errors.ts';

export type SecretValue = string | number | boolean;

/** A secret that cannot be read with this server's key. Names what. */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
}

export const KEY_FILE = 'secret.key';
const PREFIX = 'enc:v1:';
const BYTES_MAGIC = Buffer.from('DBENC1\0');

type Key = { readonly bytes: Buffer; readonly id: string; readonly source: string };

let settings: { dataDir: string; env: NodeJS.ProcessEnv } | null = null;
let loaded: Key | null = null;

function keyId(bytes: Buffer): string {
  return createHash('sha256').update('deploy-bot key id\0').update(bytes).digest('hex').slice(0, 8);
}

/** 32 bytes, as 64 hex characters or base64. */
export function parseKey(text: string, source: string): Key {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (bytes.length !== 32)
    throw new ConfigError(`${source} is not a key`, [
      `${source}: expected 32 bytes as 64 hex characters or base64 (make one with: openssl rand -base64 32)`,
    ]);
  return { bytes, id: keyId(bytes), source };
}

/** Where this process's key comes from: DEPLOY_SECRET_KEY, else the data directory's key file. */
export function configureSecrets(options: { dataDir: string; env?: NodeJS.ProcessEnv }): void {
  settings = { dataDir: options.dataDir, env: options.env ?? process.env };
  loaded = null;
}

export function keyFileOf(dataDir: string): string {
  return path.join(dataDir, KEY_FILE);
}

function loadKey(): Key {
  if (loaded) return loaded;
  if (!settings)
    throw new Error('secrets are used before configureSecrets() (DeployCore.open does it)');
  const fromEnv = settings.env.DEPLOY_SECRET_KEY;
  if (fromEnv) {
    loaded = parseKey(fromEnv, 'DEPLOY_SECRET_KEY');
    return loaded;
  }
  const file = keyFileOf(settings.dataDir);
  mkdirSync(settings.dataDir, { recursive: true });
  try {
    // Created once, by whichever process comes first; never overwritten.
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  loaded = parseKey(readFileSync(file, 'utf8'), file);
  return loaded;
}

/** The key in use, for messages: its id and where it comes from. */
export function activeKey(): { id: string; source: string } {
  const key = loadKey();
  return { id: key.id, source: key.source };
}

function seal(key: Key, plain: Buffer): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([Buffer.from(key.id, 'hex'), iv, cipher.getAuthTag(), ct]);
}

function unseal(key: Key, box: Buffer, what: string): Buffer {
  const id = box.subarray(0, 4).toString('hex');
  if (id !== key.id)
    throw new SecretKeyError(
      `cannot decrypt ${what}: it was encrypted under another key (key id ${id}; this server's key from ${key.source} has id ${key.id}). Give this server the key it was written with (DEPLOY_SECRET_KEY, or the data directory's ${KEY_FILE}), the same on every server`,
    );
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, box.subarray(4, 16));
    decipher.setAuthTag(box.subarray(16, 32));
    return Buffer.concat([decipher.update(box.subarray(32)), decipher.final()]);
  } catch {
    throw new SecretKeyError(
      `cannot decrypt ${what}: the stored value is damaged or was altered (its authentication failed)`,
    );
  }
}

export function encryptSecret(value: SecretValue, key: Key = loadKey()): string {
  return `${PREFIX}${seal(key, Buffer.from(JSON.stringify(value))).toString('base64')}`;
}

export function isEncrypted(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/**
 * The one way a stored secret value is read. `what` names it for the error
 * ("the sensitive variable api_key of run-…"). A value stored before
 * encryption existed is returned as it is (`secrets rotate` encrypts it).
 */
export function decryptSecret(stored: unknown, what: string, key?: Key): SecretValue {
  if (!isEncrypted(stored)) return stored as SecretValue;
  const plain = unseal(
    key ?? loadKey(),
    Buffer.from((stored as string).slice(PREFIX.length), 'base64'),
    what,
  );
  return JSON.parse(plain.toString('utf8')) as SecretValue;
}

export function encryptBytes(content: Buffer, key: Key = loadKey()): Buffer {
  return Buffer.concat([BYTES_MAGIC, seal(key, content)]);
}

export function decryptBytes(stored: Buffer, what: string, key?: Key): Buffer {
  if (!stored.subarray(0, BYTES_MAGIC.length).equals(BYTES_MAGIC)) return stored;
  return unseal(key ?? loadKey(), stored.subarray(BYTES_MAGIC.length), what);
}

/** A run's sensitive variable values, in the clear (for its steps and its redactor). */
export function readSecretVariables(
  run: { readonly id: string; readonly secretVariables: Record<string, unknown> },
  key?: Key,
): Record<string, SecretValue> {
  const out: Record<string, SecretValue> = {};
  for (const [name, stored] of Object.entries(run.secretVariables))
    out[name] = decryptSecret(stored, `the sensitive variable ${name} of ${run.id}`, key);
  return out;
}

export function encryptSecretVariables(
  values: Readonly<Record<string, SecretValue>>,
  key: Key = loadKey(),
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) out[name] = encryptSecret(value, key);
  return out;
}

/** A deployment config to store: sensitive variables' defaults encrypted. */
export function sealConfig(deployment: Deployment, key: Key = loadKey()): Deployment {
  const variables: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(deployment.variables)) {
    variables[name] =
      spec.sensitive && spec.default !== undefined && !isEncrypted(spec.default)
        ? { ...spec, default: encryptSecret(spec.default, key) }
        : spec;
  }
  return { ...deployment, variables } as Deployment;
}

/** A stored config snapshot with its sensitive defaults in the clear. */
export function openConfig(deployment: Deployment, runId: string, key?: Key): Deployment {
  const variables: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(deployment.variables ?? {})) {
    variables[name] = isEncrypted(spec.default)
      ? {
          ...spec,
          default: decryptSecret(
            spec.default,
            `the default of the sensitive variable ${name} in the config of ${runId}`,
            key,
          ),
        }
      : spec;
  }
  return { ...deployment, variables } as Deployment;
}

/** For `secrets rotate`: a fresh key, or one given. */
export function newKey(text?: string): Key {
  return text
    ? parseKey(text, 'DEPLOY_NEW_SECRET_KEY')
    : parseKey(randomBytes(32).toString('base64'), 'a new key');
}

export function currentKey(): Key {
  return loadKey();
}

export function encodeKey(key: Key): string {
  return key.bytes.toString('base64');
}

export type { Key as SecretKey };
