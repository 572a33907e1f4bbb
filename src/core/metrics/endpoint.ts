// GET /metrics: this process's Prometheus text (default process metrics and
// the deploybot_ figures). Served on serve's HTTP server (src/bot/http/routes.ts)
// and, with METRICS_PORT, on a port of its own (server.ts).

import { collectDefaultMetrics } from 'prom-client';
import type { Sql } from '../store/database.ts';
import { registry } from './instruments.ts';
import { useSharedSource } from './shared.ts';

export type MetricsEndpoint = {
  readonly contentType: string;
  /** The exposition text of this scrape. */
  text(): Promise<string>;
};

let defaultsOn = false;

/** The process's endpoint; shared figures are read through `sql` (the process's pool). */
export function metricsEndpoint(sql: Sql): MetricsEndpoint {
  if (!defaultsOn) {
    defaultsOn = true;
    collectDefaultMetrics({ register: registry });
  }
  useSharedSource(sql);
  return { contentType: registry.contentType, text: () => registry.metrics() };
}
