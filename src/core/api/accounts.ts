// Sign-in and tokens, as the front ends (the bot's `/deploy login|logout|tokens`,
// the API, `deploy-bot token`) use them: over a core, never its connection.

import { approveLogin, collectLogin, startLogin } from '../auth/login.ts';
import { issueToken, listTokens, revokeBySecret, revokeTokens } from '../auth/tokens.ts';
import type { DeployCore } from './core.ts';

export function accountsOf(core: DeployCore) {
  const db = core.db;
  return {
    startLogin: (input: Parameters<typeof startLogin>[1]) => startLogin(db, input),
    approveLogin: (code: string, userId: string) => approveLogin(db, code, userId),
    collectLogin: (code: string, verifier: string) => collectLogin(db, code, verifier),
    issueToken: (input: Parameters<typeof issueToken>[1]) => issueToken(db, input),
    listTokens: (userId: string) => listTokens(db, userId),
    revokeTokens: (userId: string, which: Parameters<typeof revokeTokens>[2]) =>
      revokeTokens(db, userId, which),
    revokeBySecret: (secret: string) => revokeBySecret(db, secret),
  };
}

export type Accounts = ReturnType<typeof accountsOf>;
