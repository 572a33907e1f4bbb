import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';

export type TestDatabase = {
  readonly url: string;
  readonly name: string;
  /** Fails when anything still holds a connection (a leak), then drops the database. */
  drop(): Promise<void>;
};

/** A database of this test file's own, cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const TEMPLATE = inject('template');
  // The test runner's pid (the template's) lets a later run clean up after a crash.
  const runnerPid = /_(\d+)$/.exec(TEMPLATE)?.[1] ?? '0';
  const name = `deploy_bot_t_${runnerPid}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database ${name} template ${TEMPLATE}`);
        break;
      } catch (error) {
        // Another file is cloning the template at this instant.
        if (attempt > 20 || !/being accessed by other users/.test(String(error))) throw error;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        // Connections close asynchronously: give them a moment before calling it a leak.
        let leaked: { application_name: string; n: number }[] = [];
        for (let i = 0; i < 50; i++) {
          leaked = await sql`
            select application_name, count(*)::int as n from pg_stat_activity
            where datname = ${name} group by application_name`;
          if (leaked.length === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await sql.unsafe(`drop database if exists ${name} with (force)`);
        if (leaked.length > 0) {
          throw new Error(
            `test leaked connections to ${name}: ${leaked.map((l) => `${l.n} × ${l.application_name || '(unnamed)'}`).join(', ')}`,
          );
        }
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}
