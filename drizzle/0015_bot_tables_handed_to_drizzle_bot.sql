-- Hand SQL, on purpose. From here the Slack bot's tables (slack_messages,
-- slack_requests, slack_notices, slack_homes, made by 0001 and 0006) are no
-- longer the core's: their migrations are the bot's own, in drizzle/bot/, and
-- src/bot/store/migrate.ts adopts the tables these migrations made. drizzle-kit
-- generated DROP TABLE for each; nothing is dropped, no row is lost.
SELECT 1;
