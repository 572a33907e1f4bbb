// The server's config as versions in PostgreSQL. `serve` and `worker` publish
// the config they load; every run is requested under the newest published
// version, whatever process takes the request, so no client supplies its own.

import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import type { Db, Tx } from '../store/database.ts';
import { desc, eq, sql } from '../store/orm.ts';
import { configPublications, configVersions } from '../store/schema.ts';
import { openConfig, sealConfig } from '../store/secrets.ts';
import type { Deployment, LoadedConfig } from './load.ts';

export type ConfigVersion = {
  /** sha256 of the deployments as canonical JSON. */
  readonly hash: string;
  readonly file: string;
  readonly deployments: ReadonlyMap<string, Deployment>;
  readonly publishedAt: Date;
  /** The process that published it: `serve host/pid/…` or `worker …`. */
  readonly publishedBy: string;
};

export function configHash(config: LoadedConfig): string {
  return createHash('sha256')
    .update(canonicalJson([...config.deployments.values()]))
    .digest('hex');
}

/** The first 12 hex digits: enough to tell versions apart in a sentence. */
export function shortVersion(hash: string): string {
  return hash.slice(0, 12);
}

export type Publication = {
  readonly version: ConfigVersion;
  /** The version that was current before, when it was another one. */
  readonly replaced: ConfigVersion | null;
};

// Versions are immutable (named by content), so a process may keep them.
const byHash = new Map<string, ReadonlyMap<string, Deployment>>();

function toMap(deployments: readonly Deployment[]): ReadonlyMap<string, Deployment> {
  return new Map(deployments.map((d) => [d.name, d]));
}

/** The newest published version, or null when no server has published one yet. */
export async function currentConfigVersion(db: Db | Tx): Promise<ConfigVersion | null> {
  // One round trip: the newest publication and its file (the deployments only
  // when this process has not seen that version yet; versions never change).
  const [newest] = await db
    .select({
      hash: configPublications.hash,
      publishedAt: configPublications.publishedAt,
      publishedBy: configPublications.publishedBy,
      file: configVersions.file,
    })
    .from(configPublications)
    .innerJoin(configVersions, eq(configVersions.hash, configPublications.hash))
    .orderBy(desc(configPublications.id))
    .limit(1);
  if (!newest) return null;
  return { ...newest, deployments: await deploymentsOfVersion(db, newest.hash) };
}

/** A version's deployments if this process has read them (see deploymentsOfVersion). */
export function knownDeploymentsOfVersion(
  hash: string,
): ReadonlyMap<string, Deployment> | undefined {
  return byHash.get(hash);
}

/**
 * The deployments of a published version (empty when there is none of that
 * hash): read once per process, then from memory (versions never change).
 */
export async function deploymentsOfVersion(
  db: Db | Tx,
  hash: string,
): Promise<ReadonlyMap<string, Deployment>> {
  const known = byHash.get(hash);
  if (known) return known;
  const [stored] = await db
    .select({ deployments: configVersions.deployments })
    .from(configVersions)
    .where(eq(configVersions.hash, hash));
  if (!stored) return new Map();
  // Sensitive defaults are stored encrypted (secrets at rest).
  const what = `config version ${shortVersion(hash)}`;
  const deployments = toMap(stored.deployments.map((d) => openConfig(d, what)));
  byHash.set(hash, deployments);
  return deployments;
}

/**
 * Publishes a loaded config: stores it as a version (once per content) and
 * makes it current. Says which version it replaced, if another was current.
 */
export async function publishConfig(
  db: Db,
  config: LoadedConfig,
  publishedBy: string,
): Promise<Publication> {
  const hash = configHash(config);
  const deployments = [...config.deployments.values()];
  return db.transaction(async (tx) => {
    // One publisher at a time, so "what was current" is true when we replace it.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('deploy-bot config publication'))`);
    const before = await currentConfigVersion(tx);
    await tx
      .insert(configVersions)
      .values({ hash, file: config.file, deployments: deployments.map((d) => sealConfig(d)) })
      .onConflictDoNothing();
    const [published] = await tx
      .insert(configPublications)
      .values({ hash, publishedBy })
      .returning();
    byHash.set(hash, config.deployments);
    const version: ConfigVersion = {
      hash,
      file: config.file,
      deployments: config.deployments,
      publishedAt: published!.publishedAt,
      publishedBy,
    };
    return { version, replaced: before && before.hash !== hash ? before : null };
  });
}

/** The sentence a process prints at start about the config it published. */
export function describePublication(publication: Publication): string {
  const { version, replaced } = publication;
  const mine = `config version ${shortVersion(version.hash)} (${version.deployments.size} deployment(s) from ${version.file})`;
  if (!replaced) return `published ${mine}; runs are requested under it`;
  return (
    `the config this process loaded differs from the published one: ${mine} replaces version ` +
    `${shortVersion(replaced.hash)} (from ${replaced.file}, published ${replaced.publishedAt.toISOString()} by ${replaced.publishedBy}); ` +
    'runs requested from now on use it, runs requested before keep theirs'
  );
}
