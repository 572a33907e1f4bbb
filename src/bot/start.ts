// Starts the Slack bot beside the workers when Slack is configured.
// (Placeholder until the Slack bot lands: it explains what is missing.)

import type { DeployCore } from '../core/api/core.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export type Bot = { stop(): Promise<void> };

export async function startBotFromEnv(
  _core: DeployCore,
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<Bot | null> {
  const missing = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'].filter((k) => !env[k]);
  if (missing.length > 0 && !env.SLACK_APP_TOKEN) {
    io.out(
      `Slack is not configured (missing ${missing.join(' and ')}): running the engine only. ` +
        'Create a Slack app from manifest.yaml and set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see README: Slack setup).',
    );
    return null;
  }
  io.out('Slack credentials found, but this build has no Slack bot yet: running the engine only.');
  return null;
}
