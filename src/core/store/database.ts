import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { applyMigrations } from '../../db/migrate.ts';
import { wrapError } from '../errors.ts';
import { postgresJs } from './orm.ts';
import { preparingStatements } from './prepared.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
/** A transaction of `Db`: what every compare-and-set and its follow-ups run in. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type Sql = postgres.Sql;

export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../drizzle',
);

export type Connection = {
  readonly url: string;
  readonly sql: Sql;
  readonly db: Db;
  close(): Promise<void>;
};

/**
 * TCP sockets with Nagle's algorithm off. postgres.js leaves it on, and a COPY
 * (several writes, then a wait for the answer) then stalls on delayed ACKs:
 * about 45 ms per COPY and as much for the next statement, instead of 1 ms.
 * The socket is handed over while still connecting (postgres.js treats a
 * custom socket as connected; Node queues the first writes): a refused or
 * failed connection then surfaces as the socket's 'error', through postgres.js's
 * own error path, which gives the pool slot back. (Waiting for 'connect' and
 * rejecting instead leaked a pool slot per failed attempt during an outage.)
 */
function noDelaySocket(url: string) {
  const u = new URL(url);
  const host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '');
  if (!host || host.startsWith('/') || u.searchParams.has('host')) return undefined;
  const port = Number(u.port || 5432);
  return () => net.connect({ host, port, noDelay: true });
}

/**
 * Seconds before a pool connection tries again after a failed attempt.
 * postgres.js counts failed attempts for the whole pool and waits up to
 * min(3^n / 100, 20) s: after a restart of a few seconds, every connection
 * of a busy pool had failed often enough to wait 10-20 s more, so a worker
 * stayed away from a database that was back (measured: 10.5 s after a 15 s
 * outage). Trying every 1-2 s costs a refused connect while it is down.
 */
export function reconnectDelaySeconds(failures: number): number {
  return Math.min(0.05 * 2 ** failures, 2) * (0.5 + Math.random() / 2);
}

export function connect(
  url: string,
  options: { max?: number; applicationName?: string } = {},
): Connection {
  const socket = noDelaySocket(url);
  const sql = postgres(url, {
    ...(socket ? { socket } : {}),
    max: options.max ?? 8,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'deploy-bot' },
    // Values come back as JS types; bigint ids fit in a number for this product's lifetime.
    types: { bigint: postgres.BigInt },
    backoff: reconnectDelaySeconds,
  });
  const db = postgresJs.drizzle(preparingStatements(sql), { schema });
  return {
    url,
    sql,
    db,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Applies the migrations in drizzle/, once, even when several processes start together. */
export async function migrateDatabase(url: string): Promise<void> {
  try {
    await applyMigrations(url, { folder: MIGRATIONS_DIR, table: '__drizzle_migrations' });
  } catch (cause) {
    throw wrapError('could not migrate the database', cause);
  }
}
