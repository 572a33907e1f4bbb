// Whole rows without drizzle's query builder: src/db/rows.ts (shared with the bot's store).
export * from '../../db/rows.ts';
