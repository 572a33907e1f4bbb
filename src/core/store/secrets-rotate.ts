// `deploy-bot secrets rotate`: every stored secret re-encrypted under a new key,
// in one transaction (a failure changes nothing).

import type { Deployment } from '../config/load.ts';
import type { Db } from './database.ts';
import { eq, sql } from './orm.ts';
import { configVersions, planArtifacts, runs } from './schema.ts';
import {
  decryptBytes,
  encryptBytes,
  encryptSecretVariables,
  openConfig,
  readSecretVariables,
  type SecretKey,
  sealConfig,
} from './secrets.ts';

export type Rotated = {
  readonly runs: number;
  readonly artifacts: number;
  readonly configVersions: number;
};

export async function rotateSecrets(db: Db, from: SecretKey, to: SecretKey): Promise<Rotated> {
  return db.transaction(async (tx) => {
    // No run or plan is written meanwhile with the old key.
    await tx.execute(
      sql`lock table runs, plan_artifacts, config_versions in share row exclusive mode`,
    );
    const rows = await tx
      .select({ id: runs.id, secretVariables: runs.secretVariables, config: runs.config })
      .from(runs);
    for (const row of rows) {
      const secrets = readSecretVariables(row, from);
      const config = openConfig(row.config as Deployment, row.id, from);
      await tx
        .update(runs)
        .set({
          secretVariables: encryptSecretVariables(secrets, to),
          config: sealConfig(config, to),
        })
        .where(eq(runs.id, row.id));
    }
    const artifacts = await tx.select().from(planArtifacts);
    for (const a of artifacts) {
      const plain = decryptBytes(a.content, `the plan artifact ${a.path} of ${a.planId}`, from);
      await tx
        .update(planArtifacts)
        .set({ content: encryptBytes(plain, to) })
        .where(sql`${planArtifacts.planId} = ${a.planId} and ${planArtifacts.path} = ${a.path}`);
    }
    // The published configs keep sensitive defaults too.
    const versions = await tx.select().from(configVersions);
    for (const v of versions) {
      const what = `config version ${v.hash.slice(0, 12)}`;
      await tx
        .update(configVersions)
        .set({ deployments: v.deployments.map((d) => sealConfig(openConfig(d, what, from), to)) })
        .where(eq(configVersions.hash, v.hash));
    }
    return { runs: rows.length, artifacts: artifacts.length, configVersions: versions.length };
  });
}
