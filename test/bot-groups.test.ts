// User-group membership fails closed: past the cache's TTL, an answer Slack
// cannot give (429, 5xx) refuses the approval, never trusts an older list.

import { type Logger, LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLog } from '../src/bot/log.ts';
import { createSlackGroups } from '../src/bot/slack/groups.ts';
import { parseConfig } from '../src/core/config/load.ts';
import { isRefusal, type Refusal } from '../src/core/errors.ts';
import { isApprover } from '../src/core/lifecycle/policy.ts';
import { FAKE_SLACK_TOKEN, type FakeSlack, startFakeSlack } from './support/fake-slack.ts';

const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

let slack: FakeSlack;
let client: WebClient;
beforeAll(async () => {
  slack = await startFakeSlack({ userGroups: { S0LEADS: ['U0LEAD1', 'U0LEAD2'], S0OPS: [] } });
  client = new WebClient(FAKE_SLACK_TOKEN, {
    slackApiUrl: slack.url,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: quiet,
  });
});
afterAll(async () => {
  await slack.close();
});

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (isRefusal(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('user-group membership', () => {
  it('past its TTL, a membership Slack cannot confirm (429, 5xx) is refused, whatever the cache said', async () => {
    let clock = 0;
    const groups = createSlackGroups({
      client,
      log: createLog({ level: 'silent' }),
      ttlMs: 60_000,
      now: () => clock,
    });
    expect(await groups.isMember('U0LEAD1', 'S0LEADS')).toBe(true);
    // Removed from the group; Slack then answers 429, then 503.
    slack.userGroups.set('S0LEADS', ['U0LEAD2']);
    clock = 30_000; // within the TTL: the list is trusted
    expect(await groups.isMember('U0LEAD1', 'S0LEADS')).toBe(true);
    for (const fault of [{ error: 'ratelimited' as const }, { status: 503 }]) {
      slack.fail('usergroups.users.list', fault, 1);
      clock = 60_001 + 9 * 60_000; // 9 minutes past the TTL
      const r = await refusal(groups.isMember('U0LEAD1', 'S0LEADS'));
      expect(r.code).toBe('membership_unconfirmed');
      expect(r.message).toMatch(
        /^Slack could not confirm that you are a member of user group S0LEADS \(.+\), so nothing was changed: try again in a moment$/,
      );
    }
    // Slack answers again: the truth.
    expect(await groups.isMember('U0LEAD1', 'S0LEADS')).toBe(false);
    expect(await groups.isMember('U0LEAD2', 'S0LEADS')).toBe(true);
  });

  it('an approver is refused only when no listed group confirms the person', async () => {
    const groups = createSlackGroups({ client, log: createLog({ level: 'silent' }) });
    const config = parseConfig(
      `
deployments:
  - name: web
    approvers: [S0OPS, S0LEADS]
    source: { kind: directory, path: ./x }
    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }
`,
      '/tmp/deploy.config.yaml',
    );
    const web = config.deployments.get('web')!;
    slack.fail('usergroups.users.list', { status: 500 }, 1);
    // S0OPS cannot be asked, S0LEADS confirms.
    expect(await isApprover(web, 'U0LEAD2', groups)).toBe(true);
    groups.clear();
    slack.fail('usergroups.users.list', { status: 500 }, 2);
    expect((await refusal(isApprover(web, 'U0LEAD2', groups))).code).toBe('membership_unconfirmed');
  });
});
