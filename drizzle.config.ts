import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // The core's tables, and the Slack bot's outbox beside them.
  schema: ['./src/core/store/schema.ts', './src/bot/store/schema.ts'],
  out: './drizzle',
});
