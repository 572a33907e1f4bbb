// Which values a run uses and where each came from. An execute takes what was
// typed, else the config's default. A destroy removes what exists, so it takes
// the values of the deployment's last completed execute, a typed key=value
// overriding one; only a deployment never applied needs them typed.

import type { VariableSource } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { isRefusal, Refusal } from '../errors.ts';
import { type ValidatedVariables, type Variables, validateVariables } from './validate.ts';

export type PreviousRun = {
  readonly id: string;
  /** Its plain and sensitive values together. */
  readonly values: Variables;
};

export type ResolvedVariables = ValidatedVariables & {
  readonly sources: Record<string, VariableSource>;
};

export function resolveVariables(
  deployment: Deployment,
  typed: Readonly<Record<string, string>>,
  previous: PreviousRun | null,
  options: { readonly destroy?: boolean } = {},
): ResolvedVariables {
  const inherited: Record<string, string> = {};
  if (previous !== null) {
    for (const [name, value] of Object.entries(previous.values)) {
      // A variable the config no longer has is not carried over.
      if (Object.hasOwn(deployment.variables, name)) inherited[name] = String(value);
    }
  }
  let validated: ValidatedVariables;
  try {
    validated = validateVariables(deployment, { ...inherited, ...typed });
  } catch (error) {
    if (!isRefusal(error) || (previous === null && !options.destroy)) throw error;
    // Say where the values not typed came from, or why none could be taken.
    const why =
      previous !== null
        ? `values not typed are those of ${previous.id}, the last completed execute of ${deployment.name}`
        : `${deployment.name} has no completed execute to take its values from: type them`;
    throw new Refusal(error.code, `${error.message} (${why})`, error.details);
  }
  const sources: Record<string, VariableSource> = {};
  for (const name of [...Object.keys(validated.plain), ...Object.keys(validated.secret)]) {
    sources[name] = Object.hasOwn(typed, name)
      ? { from: 'typed' }
      : previous !== null && Object.hasOwn(inherited, name)
        ? { from: 'last_execute', runId: previous.id }
        : { from: 'default' };
  }
  return { ...validated, sources };
}

/** "typed", "default", "from run-…" */
export function describeSource(source: VariableSource | undefined): string {
  if (source === undefined) return 'typed';
  return source.from === 'last_execute' ? `from ${source.runId}` : source.from;
}

/**
 * A run's variables as people read them, each not typed with its origin:
 * `image_tag=1.4.2 (from run-…)`, `replicas=2 (default)`. Values as the view
 * gives them (sensitive ones already masked).
 */
export function variablesWithSources(
  values: Readonly<Record<string, string | number | boolean>>,
  sources: Readonly<Record<string, VariableSource>>,
): [string, string][] {
  return Object.entries(values).map(([name, value]) => {
    const source = sources[name];
    const origin =
      source === undefined || source.from === 'typed' ? '' : ` (${describeSource(source)})`;
    return [name, `${String(value)}${origin}`];
  });
}
