// The NOTIFY payloads about runs, encoded and decoded here only: a run changed
// (`deploy_run_changed`, sent with every transition) and a run's log grew
// (`deploy_run_logs`, sent with every batch of lines). Any process LISTENs.

import { isRunStatus, type RunStatus } from '../lifecycle/statuses.ts';
import type { Tx } from './database.ts';
import { sql } from './orm.ts';

export const RUN_CHANNEL = 'deploy_run_changed';
export const LOG_CHANNEL = 'deploy_run_logs';

/** What a run-change notification says: enough to tell whether a copy is outdated. */
export type ChangedRun = {
  readonly runId: string;
  readonly version: number;
  readonly status: RunStatus;
  readonly deployment: string;
};

type ChangedRow = {
  readonly id: string;
  readonly version: number;
  readonly status: RunStatus;
  readonly deployment: string;
};

/** `runId:version:status:deployment` (a deployment name may hold ':'; it comes last). */
export function runChangedPayload(run: ChangedRow): string {
  return `${run.id}:${run.version}:${run.status}:${run.deployment}`;
}

/** The same payload, built by the database from a row named `updated`. */
export const runChangedPayloadSql = sql.raw(
  `updated.id || ':' || updated.version || ':' || updated.status || ':' || updated.deployment`,
);

/** The change as subscribers get it; null for a payload this version does not read. */
export function parseRunChanged(payload: string): ChangedRun | null {
  const [runId, version, status, ...deployment] = payload.split(':');
  if (!runId || !version || !status || !isRunStatus(status)) return null;
  return { runId, version: Number(version), status, deployment: deployment.join(':') };
}

export async function notifyRunChanged(tx: Tx, run: ChangedRow) {
  await tx.execute(sql`select pg_notify(${RUN_CHANNEL}, ${runChangedPayload(run)})`);
}

/** A log notification's payload: the run id. */
export function runLoggedPayload(runId: string): string {
  return runId;
}

/** The run whose log grew. */
export function loggedRunId(payload: string): string {
  return payload;
}
