// The bot's own migrations (drizzle/bot/, generated from schema.ts), applied by
// the processes that run the bot, after the core's.
//
// Before the bot had its own folder, the core's migrations made these tables
// (drizzle/0001 and 0006). Such a database has them, with their rows, and no
// record of the bot's migrations: the bot's first migration, which makes
// exactly those tables, is then recorded as applied instead of run, and the
// later ones apply as usual. Nothing is dropped or copied.

import path from 'node:path';
import type postgres from 'postgres';
import { applyMigrations, MIGRATIONS_SCHEMA } from '../../db/migrate.ts';
import { migrationFiles } from '../../db/orm.ts';

export const BOT_MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../../drizzle/bot');
export const BOT_MIGRATIONS_TABLE = '__drizzle_migrations_bot';

/** What the bot's first migration makes, and the core's migrations made before it. */
const FIRST_TABLES = ['slack_messages', 'slack_requests', 'slack_notices', 'slack_homes'];

export async function migrateBotTables(url: string): Promise<void> {
  try {
    await applyMigrations(url, {
      folder: BOT_MIGRATIONS_DIR,
      table: BOT_MIGRATIONS_TABLE,
      before: adoptTablesMadeByTheCore,
    });
  } catch (cause) {
    throw new Error(
      `could not migrate the Slack bot's tables: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
}

async function adoptTablesMadeByTheCore(sql: postgres.Sql): Promise<void> {
  // A dotted name is a schema-qualified identifier to postgres.js.
  const record = sql(`${MIGRATIONS_SCHEMA}.${BOT_MIGRATIONS_TABLE}`);
  await sql`create schema if not exists ${sql(MIGRATIONS_SCHEMA)}`;
  // The table drizzle's migrator makes (and would make itself a moment later).
  await sql`create table if not exists ${record} (id serial primary key, hash text not null, created_at bigint)`;
  const [recorded] = await sql<{ n: number }[]>`select count(*)::int as n from ${record}`;
  if ((recorded?.n ?? 0) > 0) return;
  const present = await sql<{ name: string }[]>`
    select name from unnest(${FIRST_TABLES}::text[]) as name where to_regclass(name) is not null`;
  if (present.length === 0) return;
  if (present.length < FIRST_TABLES.length) {
    const missing = FIRST_TABLES.filter((t) => !present.some((p) => p.name === t));
    throw new Error(
      `the database has some of the bot's tables but not ${missing.join(', ')}: apply the core's migrations first (start deploy-bot serve once with this version)`,
    );
  }
  const [first] = migrationFiles.readMigrationFiles({ migrationsFolder: BOT_MIGRATIONS_DIR });
  if (first === undefined) throw new Error(`no migrations in ${BOT_MIGRATIONS_DIR}`);
  await sql`insert into ${record} (hash, created_at) values (${first.hash}, ${first.folderMillis})`;
}
