// The baseline of the ack benchmark, in a process of its own: a Bolt 5 App with
// its default HTTP receiver (HTTPReceiver) that only acknowledges.
//   node bench/lib/bare-bolt.ts PORT SIGNING_SECRET SLACK_API_URL

import { App, LogLevel } from '@slack/bolt';
import { FAKE_BOT_ID, FAKE_BOT_USER_ID, FAKE_SLACK_TOKEN } from '../../test/support/fake-slack.ts';

const [port, signingSecret, slackApiUrl] = process.argv.slice(2);
if (!port || !signingSecret || !slackApiUrl) {
  process.stderr.write('usage: bare-bolt.ts PORT SIGNING_SECRET SLACK_API_URL\n');
  process.exit(2);
}

const app = new App({
  signingSecret,
  // Known identity, as the bot has: no auth.test.
  authorize: async () => ({
    botToken: FAKE_SLACK_TOKEN,
    botId: FAKE_BOT_ID,
    botUserId: FAKE_BOT_USER_ID,
  }),
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl },
});
app.command('/deploy', async ({ ack }) => {
  await ack();
});
app.action(/.*/, async ({ ack }) => {
  await ack();
});
await app.start({ port: Number(port), host: '127.0.0.1' });
process.stdout.write(`bare bolt listening on ${port}\n`);
process.once('SIGTERM', () => {
  void app.stop().finally(() => process.exit(0));
});
