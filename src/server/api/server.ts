// The API of a serve process: /api/v1/… as serve's HTTP front thread (the one
// that owns PORT) hands each request over its port to this, the main thread,
// with the client's address as its socket saw it. No second HTTP server: the
// answer goes back over the same port, whole or, for a stream, in chunks.

import { TokenCache } from '../../core/auth/token-cache.ts';
import { onTokensRevokedHere } from '../../core/auth/tokens.ts';
import type { ApiRequest, ApiResponse } from './exchange.ts';
import { type ApiDeps, createApiHandler } from './handler.ts';

export type ApiServer = {
  /** Answers one forwarded request (BotHttpServer's `api`). */
  readonly handle: (req: ApiRequest, res: ApiResponse) => Promise<void>;
  stop(): Promise<void>;
};

export async function startApiServer(deps: ApiDeps): Promise<ApiServer> {
  // Revocations drop remembered tokens: this process's at once, others' by NOTIFY;
  // after a reconnect (notifications may have been missed) everything is forgotten.
  const tokenCache = new TokenCache();
  const dropHere = onTokensRevokedHere((ids) => tokenCache.drop(ids));
  const unsubscribe = await deps.core.subscribeTokenRevocations(
    (ids) => tokenCache.drop(ids),
    () => tokenCache.clear(),
  );
  return {
    handle: createApiHandler({ ...deps, tokenCache }),
    stop: async () => {
      dropHere();
      await unsubscribe().catch((error: unknown) =>
        deps.log('could not stop listening for token revocations', { error: String(error) }),
      );
    },
  };
}
