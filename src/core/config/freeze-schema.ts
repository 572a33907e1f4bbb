// The config of freezes and locks: `freeze:` windows (top level, scoped to
// deployments or environments, and per deployment), `override:` and `locks:`
// per deployment. Windows are compiled here at load (src/core/policy/freeze.ts),
// so a bad one is a config error naming its path; each deployment then carries
// every window that applies to it, with its time zone settled, so the windows
// are part of the config version a run is bound to.

import { z } from 'zod';
import { compileFreeze, type Freeze, isValidTimeZone } from '../policy/freeze.ts';
import { closestName } from '../text/closest.ts';
import { parseDuration } from './duration.ts';

const windowFields = {
  /** A recurring start (5-field cron); with `duration`. */
  cron: z.string().min(1).optional(),
  /** How long each occurrence lasts, e.g. 66h. */
  duration: z.union([z.string(), z.number()]).optional(),
  /** A date-time (one-off) or a cron expression; with `end` or `duration`. */
  start: z.string().min(1).optional(),
  end: z.string().min(1).optional(),
  /** IANA time zone; default: the config's `timezone:`, else UTC. */
  timezone: z.string().min(1).optional(),
  reason: z.string().trim().min(1, 'say why the deployments are frozen (reason)'),
};

/** A window in a deployment's `freeze:`. */
export const freezeWindowSchema = z.strictObject(windowFields);
export type FreezeWindowConfig = z.output<typeof freezeWindowSchema>;

/** A top-level window: all deployments, or those named, or those of the environments named. */
export const scopedFreezeWindowSchema = z.strictObject({
  ...windowFields,
  deployments: z.array(z.string().min(1)).min(1).optional(),
  environments: z.array(z.string().min(1)).min(1).optional(),
});
export type ScopedFreezeWindowConfig = z.output<typeof scopedFreezeWindowSchema>;

/** `from:` lists of Slack ids (who may override a freeze; who may lock). */
export const fromListSchema = (slackId: z.ZodString) =>
  z.strictObject({ from: z.array(slackId).min(1, 'list at least one user or user group') });

/** A window problem: the key it is about and what is wrong. */
export type WindowProblem = { readonly key: string; readonly message: string };

/** Compiles one window in its time zone; a problem names the key to fix. */
export function compileWindow(
  window: FreezeWindowConfig,
  defaultTimeZone: string,
): Freeze | WindowProblem {
  const start = window.cron ?? window.start;
  const startKey = window.cron !== undefined ? 'cron' : 'start';
  if (window.cron !== undefined && window.start !== undefined)
    return { key: 'cron', message: 'give cron (recurring) or start, not both' };
  if (start === undefined)
    return {
      key: '',
      message:
        'a window needs cron and duration (e.g. cron: "0 15 * * 5", duration: 66h), or start and end',
    };
  let durationMs: number | undefined;
  if (window.duration !== undefined) {
    const ms = parseDuration(window.duration);
    if (ms === null)
      return {
        key: 'duration',
        message: `expected a duration like 30m, 66h or 2d, got ${JSON.stringify(window.duration)}`,
      };
    durationMs = ms;
  }
  if (window.cron !== undefined && durationMs === undefined && window.end === undefined)
    return { key: 'duration', message: 'a cron window needs a duration (e.g. duration: 66h)' };
  const timezone = window.timezone ?? defaultTimeZone;
  const compiled = compileFreeze({
    start,
    end: window.end,
    durationMs,
    timezone,
    reason: window.reason,
  });
  if (typeof compiled !== 'string') return compiled;
  if (compiled.startsWith('start: ')) return { key: startKey, message: compiled.slice(7) };
  if (compiled.startsWith('end: ')) return { key: 'end', message: compiled.slice(5) };
  if (compiled.startsWith('unknown time zone'))
    return { key: window.timezone !== undefined ? 'timezone' : '', message: compiled };
  if (compiled.includes('duration')) return { key: 'duration', message: compiled };
  return { key: window.end !== undefined ? 'end' : '', message: compiled };
}

export function isWindowProblem(value: Freeze | WindowProblem): value is WindowProblem {
  return !('activeAt' in value);
}

type Issue = { readonly path: (string | number)[]; readonly message: string };

type FreezeConfigInput = {
  readonly timezone?: string | undefined;
  readonly freeze: readonly ScopedFreezeWindowConfig[];
  readonly deployments: readonly {
    readonly name: string;
    readonly environment: string;
    readonly freeze: readonly FreezeWindowConfig[];
  }[];
};

/** Every problem of the config's windows and their scopes, with its path. */
export function freezeConfigIssues(config: FreezeConfigInput): Issue[] {
  const issues: Issue[] = [];
  const timezone = config.timezone ?? 'UTC';
  // A wrong `timezone:` is the schema's error; the windows that use it are not judged.
  if (!isValidTimeZone(timezone)) return issues;
  const check = (window: FreezeWindowConfig, path: (string | number)[]) => {
    const compiled = compileWindow(window, timezone);
    if (isWindowProblem(compiled))
      issues.push({
        path: compiled.key ? [...path, compiled.key] : path,
        message: compiled.message,
      });
  };
  const names = config.deployments.map((d) => d.name);
  const environments = [...new Set(config.deployments.map((d) => d.environment))];
  config.freeze.forEach((window, i) => {
    check(window, ['freeze', i]);
    window.deployments?.forEach((name, j) => {
      if (names.includes(name)) return;
      const near = closestName(name, names);
      issues.push({
        path: ['freeze', i, 'deployments', j],
        message: `there is no deployment "${name}"${near ? `: did you mean ${near}?` : ''} (deployments: ${names.join(', ')})`,
      });
    });
    window.environments?.forEach((name, j) => {
      if (environments.includes(name)) return;
      issues.push({
        path: ['freeze', i, 'environments', j],
        message: `no deployment has the environment "${name}" (environments: ${environments.join(', ')})`,
      });
    });
  });
  config.deployments.forEach((d, i) => {
    d.freeze.forEach((window, j) => {
      check(window, ['deployments', i, 'freeze', j]);
    });
  });
  return issues;
}

/** Whether a top-level window applies to a deployment. */
function covers(
  window: ScopedFreezeWindowConfig,
  deployment: { readonly name: string; readonly environment: string },
): boolean {
  if (window.deployments === undefined && window.environments === undefined) return true;
  return (
    (window.deployments?.includes(deployment.name) ?? false) ||
    (window.environments?.includes(deployment.environment) ?? false)
  );
}

/**
 * The windows of one deployment: its own and the top-level ones that cover it,
 * each with its time zone settled (validated configs only).
 */
export function windowsOf(
  config: Pick<FreezeConfigInput, 'timezone' | 'freeze'>,
  deployment: FreezeConfigInput['deployments'][number],
): FreezeWindowConfig[] {
  const timezone = config.timezone ?? 'UTC';
  const settle = ({ deployments: _d, environments: _e, ...w }: ScopedFreezeWindowConfig) => ({
    ...w,
    timezone: w.timezone ?? timezone,
  });
  return [
    ...deployment.freeze.map(settle),
    ...config.freeze.filter((w) => covers(w, deployment)).map(settle),
  ];
}
