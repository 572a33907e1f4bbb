// METRICS_PORT: GET /metrics on a port of its own, for `worker` (which has no
// other HTTP server) and for `serve` when Slack's server is not wanted for it.

import type { DeployCore } from '../core/api/core.ts';
import { errorMessage } from '../core/errors.ts';
import { metricsEndpoint } from '../core/metrics/endpoint.ts';
import { metricsPortSchema, startMetricsServer } from '../core/metrics/server.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

export async function startMetricsFromEnv(
  core: DeployCore,
  portText: string,
  host: string | undefined,
  io: Io,
): Promise<{ stop(): Promise<void> }> {
  const port = metricsPortSchema.safeParse(portText);
  if (!port.success) throw new Error(port.error.issues.map((i) => i.message).join('; '));
  try {
    const server = await startMetricsServer({
      endpoint: metricsEndpoint(core.connection.sql),
      port: port.data,
      host: host || undefined,
      onError: (error) => io.err(`deploy-bot: metrics: ${errorMessage(error)}`),
    });
    io.out(`Prometheus metrics on port ${server.port}: GET /metrics.`);
    return server;
  } catch (error) {
    throw new Error(
      `could not listen on METRICS_PORT=${portText}: ${errorMessage(error)} (choose a free port, or unset METRICS_PORT)`,
    );
  }
}
