// Whole rows without drizzle's query builder. Listing every column of a table
// costs the builder 40-110 µs per query (a `select()` of runs' thirty columns:
// 114 µs; the same `select *` as an sql template: 2 µs), paid on every query
// and by every process: a tenth of the bot's CPU per /deploy. Here the
// statement says `select *` or `returning *`, and the rows are mapped by the
// schema exactly as drizzle maps its own results.

import type { SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { getTableColumns, sql } from './orm.ts';

/**
 * What runs a statement: a database handle or a transaction, of any schema
 * (the core's and the bot's stores each have their own).
 */
export type Executor = Pick<PostgresJsDatabase<Record<string, never>>, 'execute'>;

type RawRow = Record<string, unknown>;
type RowOf<T extends PgTable> = T['$inferSelect'];
type Mapper = (raw: RawRow) => unknown;

const mappers = new WeakMap<PgTable, Mapper>();

/** A row as the driver returned it (column names) → the table's row, as drizzle maps it. */
export function rowMapper<T extends PgTable>(table: T): (raw: RawRow) => RowOf<T> {
  let map = mappers.get(table);
  if (map === undefined) {
    const columns = Object.entries(getTableColumns(table));
    map = (raw) => {
      const row: Record<string, unknown> = {};
      for (const [key, column] of columns) {
        const value = raw[column.name];
        row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
      }
      return row;
    };
    mappers.set(table, map);
  }
  return map as (raw: RawRow) => RowOf<T>;
}

/** `select * from <table> where <where> <tail>` (tail: order by, limit, for update). */
export async function selectRows<T extends PgTable>(
  db: Executor,
  table: T,
  where: SQL | undefined,
  tail?: SQL,
): Promise<RowOf<T>[]> {
  const rows = await db.execute<RawRow>(
    sql`select * from ${table} where ${where ?? sql`true`}${tail === undefined ? sql`` : sql` ${tail}`}`,
  );
  return rows.map(rowMapper(table));
}

/** An insert or update built by drizzle, with `returning *`: the rows it wrote. */
export async function returningRows<T extends PgTable>(
  db: Executor,
  table: T,
  statement: { getSQL(): SQL },
): Promise<RowOf<T>[]> {
  const rows = await db.execute<RawRow>(sql`${statement.getSQL()} returning *`);
  return rows.map(rowMapper(table));
}
