import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // The Slack bot's own tables, with migrations of their own (src/bot/store/migrate.ts).
  schema: './src/bot/store/schema.ts',
  out: './drizzle/bot',
  migrations: { schema: 'drizzle', table: '__drizzle_migrations_bot' },
});
