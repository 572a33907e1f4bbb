// The bot's handle on its own tables (schema.ts): a database or one of its
// transactions, of no particular schema, so the core's tables are not in its
// type. The bot's port gives it (src/bot/port.ts).

import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js';

export type BotDb = Pick<
  PostgresJsDatabase<Record<string, never>>,
  'execute' | 'insert' | 'update' | 'delete' | 'select'
>;
