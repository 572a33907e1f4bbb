// The variables of earlier runs, for a destroy that takes what was deployed.
// Sensitive values of a stored run are read here and only here, so that how
// they are kept at rest (e.g. encrypted) is decided in one place.

import type { Db } from './database.ts';
import { and, desc, eq } from './orm.ts';
import { runs } from './schema.ts';
import { readSecretVariables as decryptSecretVariables } from './secrets.ts';

export type StoredVariables = Record<string, string | number | boolean>;

/** The deployment's last completed execute run (the last run that changed it), or null. */
export async function lastCompletedExecute(
  db: Db,
  deployment: string,
): Promise<{ readonly id: string; readonly variables: StoredVariables } | null> {
  const [row] = await db
    .select({ id: runs.id, variables: runs.variables })
    .from(runs)
    .where(
      and(eq(runs.deployment, deployment), eq(runs.kind, 'execute'), eq(runs.status, 'completed')),
    )
    .orderBy(desc(runs.finishedAt), desc(runs.seq))
    .limit(1);
  return row ?? null;
}

/** A stored run's sensitive variable values (never shown; handed to a step only). */
export async function readStoredSecretVariables(db: Db, runId: string): Promise<StoredVariables> {
  const [row] = await db
    .select({ secretVariables: runs.secretVariables })
    .from(runs)
    .where(eq(runs.id, runId));
  return row ? decryptSecretVariables({ id: runId, secretVariables: row.secretVariables }) : {};
}
