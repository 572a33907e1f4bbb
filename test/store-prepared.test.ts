// The store's statements are prepared once per connection (src/core/store/prepared.ts),
// in and out of transactions, unless the DATABASE_URL says ?prepare=false.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/core/store/database.ts';
import { sql } from '../src/core/store/orm.ts';
import { getRunRow } from '../src/core/store/runs.ts';
import { createTestDatabase, type TestDatabase } from './support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** The statements prepared on the (single) connection of `conn`. */
async function preparedOn(conn: ReturnType<typeof connect>): Promise<string[]> {
  const rows = await conn.db.execute<{ statement: string }>(
    sql`select statement from pg_prepared_statements where ${1} = 1`,
  );
  return rows.map((r) => r.statement);
}

describe('prepared statements', () => {
  it('a store query is prepared once and reused; in a transaction too', async () => {
    const conn = connect(db.url, { max: 1 });
    try {
      expect(await getRunRow(conn.db, 'run-none')).toBeNull();
      expect(await getRunRow(conn.db, 'run-none-2')).toBeNull();
      await conn.db.transaction(async (tx) => {
        await tx.execute(sql`select ${1}::int + ${2}::int as inside`);
      });
      const statements = await preparedOn(conn);
      expect(statements.filter((s) => s.startsWith('select * from "runs"'))).toHaveLength(1);
      expect(statements).toContain('select $1::int + $2::int as inside');
    } finally {
      await conn.close();
    }
  });

  it('?prepare=false in the URL (PgBouncer in transaction mode) prepares nothing', async () => {
    const url = new URL(db.url);
    url.searchParams.set('prepare', 'false');
    const conn = connect(url.toString(), { max: 1 });
    try {
      expect(await getRunRow(conn.db, 'run-none')).toBeNull();
      expect((await preparedOn(conn)).filter((s) => s.includes('"runs"'))).toEqual([]);
    } finally {
      await conn.close();
    }
  });
});
