// What a client of a deploy-bot server (the CLI, deploy-tui) needs to reach it:
// the server's address and the token it signs in with, from the flags, the
// environment or the stored sign-in.

import { normaliseServer } from '../core/api/http-client.ts';
import { loadCredential } from './credentials.ts';

/** A usage mistake (exit 2), as opposed to a failure. */
export class AccountUsageError extends Error {
  override readonly name = 'AccountUsageError';
}

export type RemoteTarget = {
  readonly server: string;
  readonly token: string;
  readonly user: string | null;
};

/** `--server URL` or DEPLOY_SERVER, with DEPLOY_TOKEN or the stored token; null: local mode. */
export function remoteTarget(
  serverFlag: string | undefined,
  env: NodeJS.ProcessEnv,
): RemoteTarget | null {
  const raw = serverFlag ?? (env.DEPLOY_SERVER?.trim() || undefined);
  if (raw === undefined) return null;
  let server: string;
  try {
    server = normaliseServer(raw);
  } catch {
    throw new AccountUsageError(
      `--server ${raw} is not a URL: give the server's address, e.g. https://deploy.example.com`,
    );
  }
  const fromEnv = env.DEPLOY_TOKEN?.trim();
  if (fromEnv) return { server, token: fromEnv, user: null };
  const stored = loadCredential(server, env);
  if (!stored) {
    throw new Error(
      `you are not signed in to ${server}: run deploy-bot login --server ${server} (or set DEPLOY_TOKEN)`,
    );
  }
  return { server, token: stored.token, user: stored.user };
}
