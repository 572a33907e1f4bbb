// What an approval is bound to: every input of apply, each hashed on its own so
// that a refusal can name what changed after the approval.

import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import type { Artifact } from './workspace.ts';

export type PlanBinding = {
  /** The source's digest: a directory's content (links included) or a git commit. */
  readonly source: string;
  /** Every byte the plan step left in DEPLOY_ARTIFACT_DIR. */
  readonly artifacts: string;
  /** The run's deployment config (its snapshot, runs.config). */
  readonly config: string;
  /** The executor binary's identity (sha256 and version), when the executor has one. */
  readonly executor: string | null;
};

const sha256 = (data: string | Buffer) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

export function artifactsDigest(artifacts: readonly Artifact[]): string {
  const hash = createHash('sha256');
  for (const a of [...artifacts].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0))) {
    hash.update(`${a.path}\0${a.mode}\0${a.content.length}\0`);
    hash.update(a.content);
  }
  return `sha256:${hash.digest('hex')}`;
}

export function configDigest(config: unknown): string {
  return sha256(canonicalJson(config));
}

/** The one hash approvals record (plans.artifact_hash). */
export function bindingHash(binding: PlanBinding): string {
  return sha256(canonicalJson(binding));
}

const WHAT: Record<keyof PlanBinding, string> = {
  source: 'the source (a file, a symlink or a nested .git changed)',
  artifacts: "the plan's stored artifacts",
  config: "the run's deployment config",
  executor: 'the executor binary',
};

/** The parts of the binding that differ, as words for a refusal. */
export function bindingChanges(planned: PlanBinding, now: PlanBinding): string[] {
  return (Object.keys(WHAT) as (keyof PlanBinding)[])
    .filter((k) => planned[k] !== now[k])
    .map((k) => {
      if (k !== 'executor') return WHAT[k];
      // "tofu sha256:… (OpenTofu v1.8.0)": its name comes first.
      const name = (now.executor ?? planned.executor ?? 'the executor').split(' ')[0];
      return `the executor binary (${name} on this worker is not the one that planned)`;
    });
}
