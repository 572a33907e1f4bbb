// What the ack benchmark (bench/ack.ts) and its profiling driver
// (bench/lib/ack-profile.ts) send: ten deployments with a quick plan step,
// valid `/deploy web-N image_tag=…` commands over them, and clicks on the run
// messages the bot posted.

import type { FakeSlack } from '../../test/support/fake-slack.ts';
import { clickBody, commandBody, hasButton, runIdOf } from './slack.ts';

export const DEPLOYMENTS = 10;

export function ackConfig(): string {
  const lines = ['deployments:'];
  for (let i = 0; i < DEPLOYMENTS; i++) {
    lines.push(
      `  - name: web-${i}`,
      '    environment: production',
      '    approvers: [U0APPROVER]',
      '    source: { kind: directory, path: ./app }',
      '    variables:',
      '      image_tag: { type: string, required: true, pattern: "^[a-z0-9._-]+$" }',
      '    executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh, timeout: 30s }',
    );
  }
  return `${lines.join('\n')}\n`;
}

export const ACK_FILES = {
  'app/plan.sh': `#!/bin/sh\necho "planning $DEPLOY_VAR_image_tag"\necho '{"changes":[{"address":"service.web","action":"update"}]}' > "$DEPLOY_PLAN_FILE"\n`,
  'app/apply.sh': '#!/bin/sh\necho applied\n',
};

/** Run messages in the channel that have a button, newest last. */
export function clickable(slack: FakeSlack) {
  return slack
    .channelMessages('C0DEPLOYS')
    .filter(
      (m) =>
        m.threadTs === null &&
        runIdOf(m) !== null &&
        (hasButton(m, 'approve_plan') || hasButton(m, 'cancel_run')),
    );
}

/**
 * Clicks over the newest 40 run messages: Approve plan where shown, else
 * Cancel. The first click on a message acts; later ones find it outdated.
 */
export function clickBodies(slack: FakeSlack, n: number): string[] {
  const pool = clickable(slack).slice(-40);
  if (pool.length === 0) throw new Error('no run message with a button to click');
  return Array.from({ length: n }, (_, i) => {
    const m = pool[i % pool.length]!;
    return clickBody(slack, m, hasButton(m, 'approve_plan') ? 'approve_plan' : 'cancel_run');
  });
}

let tag = 0;
/** Valid commands, round robin over the deployments, each with a new image tag. */
export function commandBodies(slack: FakeSlack, n: number): string[] {
  return Array.from({ length: n }, () => {
    tag++;
    return commandBody(slack, `web-${tag % DEPLOYMENTS} image_tag=1.${tag}.0`);
  });
}
