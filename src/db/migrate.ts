// Applying one folder of drizzle migrations: the core's (drizzle/) and the
// bot's (drizzle/bot/) each have their own folder and their own record of what
// was applied. One advisory lock for every folder, so processes that start
// together apply each migration once and one folder after another.

import postgres from 'postgres';
import { migrator, postgresJs } from './orm.ts';

/** The schema of drizzle's records of applied migrations (drizzle's default). */
export const MIGRATIONS_SCHEMA = 'drizzle';

export type MigrationFolder = {
  readonly folder: string;
  /** The table (in MIGRATIONS_SCHEMA) that records what was applied. */
  readonly table: string;
  /** Runs under the lock, before the folder is applied. */
  readonly before?: (sql: postgres.Sql) => Promise<void>;
};

export async function applyMigrations(url: string, migrations: MigrationFolder): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext('deploy-bot:migrate'))`;
    await migrations.before?.(sql);
    await migrator.migrate(postgresJs.drizzle(sql), {
      migrationsFolder: migrations.folder,
      migrationsSchema: MIGRATIONS_SCHEMA,
      migrationsTable: migrations.table,
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
