// A small HTTP server for GET /metrics on its own port (METRICS_PORT): the
// worker's only HTTP endpoint, and serve's when it has no other server.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { MetricsEndpoint } from './endpoint.ts';

export const metricsPortSchema = z.coerce
  .number({ error: 'METRICS_PORT must be a port number (1-65535), or unset to turn it off' })
  .int('METRICS_PORT must be a whole number')
  .min(0, 'METRICS_PORT must be 0-65535')
  .max(65535, 'METRICS_PORT must be 0-65535');

export type MetricsServer = { readonly port: number; stop(): Promise<void> };

export async function startMetricsServer(options: {
  readonly endpoint: MetricsEndpoint;
  readonly port: number;
  readonly host?: string | undefined;
  readonly onError: (error: unknown) => void;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://metrics.invalid').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    options.endpoint.text().then(
      (text) => {
        res.writeHead(200, {
          'content-type': options.endpoint.contentType,
          'content-length': Buffer.byteLength(text),
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        options.onError(error);
        res.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', options.onError);
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
