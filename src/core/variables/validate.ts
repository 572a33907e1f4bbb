import type { Deployment } from '../config/load.ts';
import type { VariableSpec } from '../config/schema.ts';
import { Refusal } from '../errors.ts';
import { closestName } from '../text/closest.ts';
import { truncate } from '../text/width.ts';

export type VariableValue = string | number | boolean;
export type Variables = Record<string, VariableValue>;

export type ValidatedVariables = {
  /** Values safe to show and store in the open. */
  readonly plain: Variables;
  /** Values of sensitive variables: passed to steps, never shown. */
  readonly secret: Variables;
};

// Kept here for the modules that have always imported them from here.
export { closestName, editDistance } from '../text/closest.ts';

function coerce(name: string, spec: VariableSpec, raw: string): VariableValue | string[] {
  // PostgreSQL cannot store these: say so, without echoing the value.
  if (raw.includes('\0'))
    return [`${name} contains a NUL character (\\0), which cannot be stored: remove it`];
  if (!raw.isWellFormed())
    return [`${name} contains broken Unicode (a lone surrogate): retype the value`];
  const shown = spec.sensitive ? '(hidden)' : JSON.stringify(truncate(raw, 61));
  switch (spec.type) {
    case 'string': {
      if (raw.length > spec.maxLength)
        return [`${name} is longer than ${spec.maxLength} characters`];
      if (spec.pattern !== undefined && !new RegExp(spec.pattern).test(raw)) {
        return [`${name}=${shown} does not match the pattern ${spec.pattern}`];
      }
      return raw;
    }
    case 'number': {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(n)) return [`${name}=${shown} is not a number`];
      if (spec.integer && !Number.isInteger(n)) return [`${name}=${shown} is not a whole number`];
      if (spec.min !== undefined && n < spec.min)
        return [`${name}=${shown} is below the minimum ${spec.min}`];
      if (spec.max !== undefined && n > spec.max)
        return [`${name}=${shown} is above the maximum ${spec.max}`];
      return n;
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(v)) return true;
      if (['false', 'no', 'off', '0'].includes(v)) return false;
      return [`${name}=${shown} is not a boolean: use true or false`];
    }
    case 'select': {
      if (!spec.options.includes(raw))
        return [`${name}=${shown} is not one of ${spec.options.join(', ')}`];
      return raw;
    }
  }
}

/**
 * Validates the `key=value` inputs of a run against the deployment's variables.
 * Collects every problem so the person fixes them all at once.
 */
export function validateVariables(
  deployment: Deployment,
  input: Readonly<Record<string, string>>,
): ValidatedVariables {
  const specs = deployment.variables;
  const names = Object.keys(specs);
  const problems: string[] = [];
  const plain: Variables = {};
  const secret: Variables = {};

  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(specs, key)) {
      const near = closestName(key, names);
      problems.push(
        names.length === 0
          ? `${deployment.name} takes no variables, but ${key} was given`
          : `unknown variable ${key}${near ? ` (did you mean ${near}?)` : ''}; ${deployment.name} takes ${names.join(', ')}`,
      );
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    const raw = Object.hasOwn(input, name) ? input[name] : undefined;
    let value: VariableValue | undefined;
    if (raw !== undefined) {
      const result = coerce(name, spec, raw);
      if (Array.isArray(result)) {
        problems.push(...result);
        continue;
      }
      value = result;
    } else if (spec.default !== undefined) {
      value = spec.default;
    } else if (spec.required) {
      problems.push(
        `missing required variable ${name} (${spec.type}${spec.description ? `: ${spec.description}` : ''})`,
      );
      continue;
    }
    if (value === undefined) continue;
    if (spec.sensitive) secret[name] = value;
    else plain[name] = value;
  }
  if (problems.length > 0) {
    throw new Refusal('invalid_variables', problems.join('; '), {
      problems,
      usage: usageOf(deployment),
    });
  }
  return { plain, secret };
}

/** `web-prod image_tag=<string> [replicas=<number, default 2>]` */
export function usageOf(deployment: Deployment): string {
  const parts = Object.entries(deployment.variables).map(([name, spec]) => {
    const type = spec.type === 'select' ? spec.options.join('|') : spec.type;
    const def =
      spec.default === undefined
        ? ''
        : spec.sensitive
          ? ', default hidden'
          : `, default ${String(spec.default)}`;
    const item = `${name}=<${type}${def}>`;
    return spec.required && spec.default === undefined ? item : `[${item}]`;
  });
  return [deployment.name, ...parts].join(' ');
}
