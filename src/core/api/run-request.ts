// A run request made into the run to store: the deployment's variables
// resolved (typed, defaults, a destroy's values of the last apply; sensitive
// ones apart) and the source it will use. Nothing is written here.

import type { Deployment } from '../config/load.ts';
import { newId } from '../engine/ids.ts';
import { Refusal } from '../errors.ts';
import type { RunKind } from '../lifecycle/statuses.ts';
import type { Db } from '../store/database.ts';
import { lastCompletedExecute, readStoredSecretVariables } from '../store/run-variables.ts';
import type { NewRun } from '../store/transition.ts';
import { type PreviousRun, resolveVariables } from '../variables/sources.ts';
import type { Actor, SourceSummary } from './types.ts';

/** The run `actor` asks for; refused when the deployment cannot do it or a variable is wrong. */
export async function newRunOf(
  db: Db,
  deployment: Deployment,
  kind: RunKind,
  actor: Actor,
  typed: Readonly<Record<string, string>>,
  configVersion: string,
): Promise<NewRun> {
  if (kind === 'destroy' && deployment.executor.kind === 'script' && !deployment.executor.destroy) {
    throw new Refusal(
      'not_supported',
      `${deployment.name} cannot be destroyed: its config has no executor.destroy step`,
    );
  }
  const vars = resolveVariables(
    deployment,
    typed,
    kind === 'destroy' ? await lastExecuteVariables(db, deployment) : null,
    { destroy: kind === 'destroy' },
  );
  const source: SourceSummary =
    deployment.source.kind === 'directory'
      ? {
          kind: 'directory',
          gitRef: null,
          commit: null,
          baseDirectory: null,
          location: deployment.source.path,
        }
      : {
          kind: 'git-repository',
          gitRef: deployment.source.ref,
          commit: null,
          baseDirectory: deployment.source.baseDirectory,
          location: deployment.source.url,
        };
  return {
    id: newId('run'),
    deployment,
    kind,
    actor,
    variables: vars.plain,
    secretVariables: vars.secret,
    variableSources: vars.sources,
    source,
    configVersion,
  };
}

/** What a destroy takes by default: the values of the last run that changed the deployment. */
async function lastExecuteVariables(db: Db, deployment: Deployment): Promise<PreviousRun | null> {
  const last = await lastCompletedExecute(db, deployment.name);
  if (last === null) return null;
  return {
    id: last.id,
    values: { ...last.variables, ...(await readStoredSecretVariables(db, last.id)) },
  };
}
