import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { wrapError } from '../errors.ts';
import { ensureEmbeddedPostgres } from './embedded.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PostgresJsDatabase<Schema>;
export type Sql = postgres.Sql;

export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../drizzle',
);

export type DatabaseSettings = {
  /** An external PostgreSQL; when absent the embedded one under dataDir is used. */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
};

/** The URL every process of this installation uses. */
export async function resolveDatabaseUrl(settings: DatabaseSettings): Promise<string> {
  if (settings.databaseUrl) return settings.databaseUrl;
  const server = await ensureEmbeddedPostgres(settings.dataDir);
  return server.url;
}

export type Connection = {
  readonly url: string;
  readonly sql: Sql;
  readonly db: Db;
  close(): Promise<void>;
};

export function connect(
  url: string,
  options: { max?: number; applicationName?: string } = {},
): Connection {
  const sql = postgres(url, {
    max: options.max ?? 8,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'deploy-bot' },
    // Values come back as JS types; bigint ids fit in a number for this product's lifetime.
    types: { bigint: postgres.BigInt },
  });
  const db = drizzle(sql, { schema });
  return {
    url,
    sql,
    db,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Applies the migrations in drizzle/, once, even when several processes start together. */
export async function migrateDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext('deploy-bot:migrate'))`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_DIR });
  } catch (cause) {
    throw wrapError('could not migrate the database', cause);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
