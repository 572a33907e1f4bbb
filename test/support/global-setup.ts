// Starts (or finds) the test PostgreSQL once, and prepares a migrated template
// database that every test file clones into a database of its own.

import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrateBotTables } from '../../src/bot/store/migrate.ts';
import { startQueue } from '../../src/core/queue/boss.ts';
import { migrateDatabase } from '../../src/core/store/database.ts';
import {
  ensureEmbeddedPostgres,
  stopEmbeddedPostgres,
} from '../../src/server/embedded-postgres.ts';

function withDatabase(url: string, database: string) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    template: string;
  }
}

export default async function setup(project: TestProject) {
  let adminUrl: string;
  let dataDir: string | null = null;
  let started = false;
  if (process.env.DATABASE_URL) {
    adminUrl = process.env.DATABASE_URL;
  } else {
    dataDir = path.join(os.tmpdir(), `deploy-bot-test-pg-${process.getuid?.() ?? 0}`);
    const server = await ensureEmbeddedPostgres(dataDir, 'postgres');
    adminUrl = server.adminUrl;
    started = server.started;
  }
  // Several test runs may share one server (e.g. two terminals): names carry our pid.
  const TEMPLATE = `deploy_bot_tpl_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${TEMPLATE} with (force)`);
    await admin.unsafe(`create database ${TEMPLATE}`);
    const templateUrl = withDatabase(adminUrl, TEMPLATE);
    await migrateDatabase(templateUrl);
    await migrateBotTables(templateUrl);
    // Install pg-boss's schema and queues once, so each test database has them.
    const queue = await startQueue(templateUrl, { supervise: false });
    await queue.stop();
    // Stray databases of earlier runs that were interrupted (their process is gone).
    const all = await admin<{ datname: string }[]>`
      select datname from pg_database where datname ~ '^deploy_bot_(t|tpl)_[0-9]+'`;
    for (const { datname } of all) {
      const pid = Number(/^deploy_bot_(?:t|tpl)_(\d+)/.exec(datname)?.[1]);
      if (pid !== process.pid && !alive(pid))
        await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  project.provide('adminUrl', adminUrl);
  project.provide('template', TEMPLATE);
  return async () => {
    const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
    let othersUsingServer = false;
    try {
      await sql.unsafe(`drop database if exists ${TEMPLATE} with (force)`);
      const [row] = await sql`
        select count(*)::int as n from pg_database where datname ~ '^deploy_bot_(t|tpl)_[0-9]+'`;
      othersUsingServer = (row?.n ?? 0) > 0;
    } finally {
      await sql.end({ timeout: 5 });
    }
    if (started && dataDir && !othersUsingServer) await stopEmbeddedPostgres(dataDir);
  };
}

function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
