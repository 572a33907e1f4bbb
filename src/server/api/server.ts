// The API's own node:http server on a loopback port of this process. serve's
// HTTP front (the thread that owns PORT) forwards /api/v1/… to it, with a
// secret that makes it believe the client address the front saw.

import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenCache } from '../../core/auth/token-cache.ts';
import { onTokensRevokedHere } from '../../core/auth/tokens.ts';
import { type ApiDeps, createApiHandler } from './handler.ts';

export type ApiServer = {
  /** Where the HTTP front forwards /api/v1/… (loopback). */
  readonly port: number;
  readonly secret: string;
  stop(): Promise<void>;
};

export async function startApiServer(deps: Omit<ApiDeps, 'frontSecret'>): Promise<ApiServer> {
  const secret = randomBytes(24).toString('base64url');
  // Revocations drop remembered tokens: this process's at once, others' by NOTIFY;
  // after a reconnect (notifications may have been missed) everything is forgotten.
  const tokenCache = new TokenCache();
  const dropHere = onTokensRevokedHere((ids) => tokenCache.drop(ids));
  const unsubscribe = await deps.core.subscribeTokenRevocations(
    (ids) => tokenCache.drop(ids),
    () => tokenCache.clear(),
  );
  const handle = createApiHandler({ ...deps, frontSecret: secret, tokenCache });
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    secret,
    stop: async () => {
      dropHere();
      await unsubscribe().catch((error: unknown) =>
        deps.log('could not stop listening for token revocations', { error: String(error) }),
      );
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
