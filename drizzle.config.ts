import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // The core's tables. The Slack bot's have their own migrations (drizzle.bot.config.ts).
  schema: './src/core/store/schema.ts',
  out: './drizzle',
});
