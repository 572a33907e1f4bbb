// drizzle-orm's values for the core's store: loaded once in src/db/orm.ts
// (shared with the bot's store, which owns other tables).
export * from '../../db/orm.ts';
