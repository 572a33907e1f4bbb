// What a workspace copy of a directory source leaves out, and so what its
// digest does not cover: deploy-bot's own data directory (its workspaces, its
// embedded PostgreSQL and credentials), any other deploy-bot data directory,
// and the deployment's `source.exclude` globs (node_modules, .terraform).

import { realpathSync } from 'node:fs';
import path from 'node:path';

export type SourceExclusion = {
  /** Whether the entry at `relPath` (relative to the source, "/"-separated) is left out. */
  excludes(relPath: string): boolean;
};

/**
 * The names that mark a deploy-bot data directory: an embedded database's
 * credentials file, or the workspaces and deployment state of its runs.
 */
export function isDataDirectory(names: ReadonlySet<string>): boolean {
  return names.has('postgres.json') || (names.has('workspaces') && names.has('state'));
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * A glob without "/" matches an entry's name at any depth (`node_modules`,
 * `*.log`); one with "/" matches the path from the source's root (`build/cache`,
 * `docs/**`).
 */
function globMatcher(pattern: string): (relPath: string) => boolean {
  const glob = pattern.replace(/^\.\//, '').replace(/\/+$/, '');
  if (!glob.includes('/')) return (rel) => path.matchesGlob(path.posix.basename(rel), glob);
  return (rel) => path.matchesGlob(rel, glob);
}

export function sourceExclusion(options: {
  readonly sourceDir: string;
  readonly dataDir: string;
  readonly patterns?: readonly string[];
}): SourceExclusion {
  const dataRel = path.relative(real(options.sourceDir), real(options.dataDir));
  const ownData =
    dataRel !== '' && !dataRel.startsWith('..') && !path.isAbsolute(dataRel)
      ? dataRel.split(path.sep).join('/')
      : null;
  const globs = (options.patterns ?? []).map(globMatcher);
  return {
    excludes(relPath) {
      if (ownData !== null && relPath === ownData) return true;
      return globs.some((matches) => matches(relPath));
    },
  };
}
