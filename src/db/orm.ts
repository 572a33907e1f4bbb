// drizzle-orm, loaded as CommonJS. Linking its ES module build (hundreds of
// modules joined by `export *`) costs about 200 MB of transient heap in Node 24,
// which the process keeps as resident memory; the CommonJS build of the same
// version costs about 15 MB. Import drizzle values from here, types from
// 'drizzle-orm' directly (`import type` is erased).

import { createRequire } from 'node:module';
import type * as Orm from 'drizzle-orm';
import type * as MigrationFiles from 'drizzle-orm/migrator';
import type * as PgCore from 'drizzle-orm/pg-core';
import type * as PostgresJs from 'drizzle-orm/postgres-js';
import type * as Migrator from 'drizzle-orm/postgres-js/migrator';

// drizzle-kit loads the schema as CommonJS, where `require` exists already.
const load: NodeJS.Require =
  typeof require === 'function' ? require : createRequire(import.meta.url);

const orm = load('drizzle-orm') as typeof Orm;
export const pgCore = load('drizzle-orm/pg-core') as typeof PgCore;
export const postgresJs = load('drizzle-orm/postgres-js') as typeof PostgresJs;
export const migrator = load('drizzle-orm/postgres-js/migrator') as typeof Migrator;
export const migrationFiles = load('drizzle-orm/migrator') as typeof MigrationFiles;

export const { and, asc, desc, eq, getTableColumns, gt, inArray, isNotNull, isNull, lt, or, sql } =
  orm;
