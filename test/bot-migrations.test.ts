// The bot's tables have their own migrations (drizzle/bot/). A database whose
// tables were made by the core's migrations before that (main's drizzle/ up to
// 0011) upgrades with no row lost; a new database gets the same tables.

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BOT_MIGRATIONS_TABLE, migrateBotTables } from '../src/bot/store/migrate.ts';
import { MIGRATIONS_DIR, migrateDatabase } from '../src/core/store/database.ts';
import { applyMigrations } from '../src/db/migrate.ts';

/** The core's migration from which the bot's tables are no longer the core's. */
const HAND_OVER = /_bot_tables_handed_to_drizzle_bot$/;

const adminUrl = inject('adminUrl');
const made: string[] = [];
let scratch: string;

async function emptyDatabase(): Promise<string> {
  const name = `deploy_bot_t_${process.pid}_mig_${made.length}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  made.push(name);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** drizzle/ as main had it: the journal before the hand-over. */
function mainsMigrations(): string {
  const dir = path.join(scratch, 'drizzle-main');
  cpSync(MIGRATIONS_DIR, dir, { recursive: true });
  const journalFile = path.join(dir, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: { tag: string }[] };
  const handOver = journal.entries.findIndex((e) => HAND_OVER.test(e.tag));
  expect(handOver).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, handOver);
  writeFileSync(journalFile, JSON.stringify(journal));
  return dir;
}

beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-migrations-'));
});

afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    for (const name of made) await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
});

const RUN_ID = 'run-migrated';

async function seedBotRows(sql: postgres.Sql) {
  await sql`
    insert into runs (id, deployment, environment, kind, status, requested_by, requested_via,
                      variables, secret_variables, source, config)
    values (${RUN_ID}, 'web', 'prod', 'execute', 'awaiting_plan_approval', 'U0ALICE', 'slack',
            '{}'::jsonb, '{}'::jsonb, '{}'::jsonb, '{}'::jsonb)`;
  await sql`
    insert into slack_messages (run_id, channel, ts, requested_by, delivered_version)
    values (${RUN_ID}, 'C0DEPLOY', '1700000000.000100', 'U0ALICE', 3)`;
  await sql`insert into slack_requests (key, kind, run_id) values ('trigger-1', 'execute', ${RUN_ID})`;
  await sql`
    insert into slack_notices (run_id, step, target, channel, ts)
    values (${RUN_ID}, 'awaiting_plan_approval:plan-1', 'U0BOB', 'D0BOB', '1700000000.000200')`;
  await sql`insert into slack_homes (user_id, due) values ('U0ALICE', false)`;
}

async function botRows(sql: postgres.Sql) {
  return {
    messages: await sql`select run_id, channel, ts, delivered_version from slack_messages`,
    requests: await sql`select key, kind, run_id from slack_requests`,
    notices: await sql`select run_id, step, target, channel, ts from slack_notices`,
    homes: await sql`select user_id, due from slack_homes`,
  };
}

describe('the bot’s own migrations', () => {
  it('upgrade a database migrated by main’s migrations with every row kept', async () => {
    const url = await emptyDatabase();
    await applyMigrations(url, { folder: mainsMigrations(), table: '__drizzle_migrations' });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await seedBotRows(sql);
      const before = await botRows(sql);
      expect(before.messages).toHaveLength(1);

      // What serve does now: the core's migrations, then the bot's.
      await migrateDatabase(url);
      await migrateBotTables(url);
      expect(await botRows(sql)).toEqual(before);
      const recorded = await sql`select hash from ${sql(`drizzle.${BOT_MIGRATIONS_TABLE}`)}`;
      expect(recorded).toHaveLength(1);

      // Started again (another process, a restart): nothing more to do.
      await migrateDatabase(url);
      await migrateBotTables(url);
      expect(await botRows(sql)).toEqual(before);
      expect(await sql`select hash from ${sql(`drizzle.${BOT_MIGRATIONS_TABLE}`)}`).toHaveLength(1);

      // The foreign key still cascades from the core's runs.
      await sql`delete from runs where id = ${RUN_ID}`;
      const after = await botRows(sql);
      expect(after.messages).toHaveLength(0);
      expect(after.notices).toHaveLength(0);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('give a new database the bot’s tables, and processes starting together apply them once', async () => {
    const url = await emptyDatabase();
    await migrateDatabase(url);
    await Promise.all([migrateBotTables(url), migrateBotTables(url), migrateBotTables(url)]);
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await seedBotRows(sql);
      expect((await botRows(sql)).homes).toEqual([{ user_id: 'U0ALICE', due: false }]);
      expect(await sql`select hash from ${sql(`drizzle.${BOT_MIGRATIONS_TABLE}`)}`).toHaveLength(1);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('refuse a database with only some of the bot’s tables, saying what to do', async () => {
    const url = await emptyDatabase();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      await sql`create table slack_messages (run_id text primary key)`;
      await expect(migrateBotTables(url)).rejects.toThrow(
        /some of the bot's tables but not slack_requests, slack_notices, slack_homes: apply the core's migrations first/,
      );
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
