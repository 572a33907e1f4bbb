// serve's HTTP front (the real BotHttpServer thread, no Slack endpoint) with
// the API server behind it, over a harness's core: /api/v1 over real HTTP.

import { BotHttpServer } from '../../src/bot/http/receiver.ts';
import { botRoutes } from '../../src/bot/http/routes.ts';
import { localBotPort } from '../../src/bot/local-port.ts';
import { createLog } from '../../src/bot/log.ts';
import { httpPort } from '../../src/core/api/http-client.ts';
import { issueToken } from '../../src/core/auth/tokens.ts';
import { startApiServer } from '../../src/server/api/server.ts';
import type { Harness } from './harness.ts';

export type ApiHarness = {
  readonly url: string;
  /** A token for a user (issued like `deploy-bot token create`). */
  token(userId: string, options?: { name?: string; expiresInMs?: number }): Promise<string>;
  port(userId: string): Promise<ReturnType<typeof httpPort>>;
  close(): Promise<void>;
};

export async function startApiHarness(h: Harness): Promise<ApiHarness> {
  const log = createLog({ level: 'silent' });
  const api = await startApiServer({ core: h.core, log: () => {} });
  const server = new BotHttpServer({
    signingSecret: null,
    port: 0,
    host: '127.0.0.1',
    log,
    api: api.handle,
    routes: botRoutes({ core: localBotPort(h.core), apiToken: undefined, log }),
  });
  const address = await server.start();
  const url = `http://127.0.0.1:${address.port}`;
  const ports: { close(): Promise<void> }[] = [];
  const token = async (userId: string, o: { name?: string; expiresInMs?: number } = {}) =>
    (
      await issueToken(h.core.db, {
        userId,
        name: o.name ?? `test-${userId}`,
        issuedBy: 'test',
        expiresInMs: o.expiresInMs,
      })
    ).secret;
  return {
    url,
    token,
    async port(userId) {
      const p = httpPort({ server: url, token: await token(userId), client: 'cli' });
      ports.push(p);
      return p;
    },
    async close() {
      for (const p of ports) await p.close();
      await server.stop();
      await api.stop();
    },
  };
}
