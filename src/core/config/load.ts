import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { type AppliedRule, appliedRules } from '../policy/rule-config.ts';
import type { Retention } from '../retention/settings.ts';
import { windowsOf } from './freeze-schema.ts';
import { configSchema, type DeployConfig, type DeploymentConfig } from './schema.ts';

export type Deployment = Omit<DeploymentConfig, 'rules'> & {
  /** The directory relative paths in the deployment resolve against (the config file's). */
  readonly baseDir: string;
  /**
   * The rules that apply to it: the config's top-level ones, then its own.
   * Absent in snapshots of runs older than rules.
   */
  readonly appliedRules?: readonly AppliedRule[];
  /** The config's `timezone` (`now` in rules); absent in older snapshots (UTC). */
  readonly timezone?: string;
};

export type LoadedConfig = {
  readonly file: string;
  readonly deployments: ReadonlyMap<string, Deployment>;
  /** `retention:` (defaults when the file has none). */
  readonly retention?: Retention;
};

/** `deployments[2].variables.replicas.type` from zod's path. */
export function formatIssuePath(issuePath: readonly PropertyKey[]): string {
  let out = '';
  for (const key of issuePath) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function describeIssues(label: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = formatIssuePath(issue.path);
    return where === '' ? `${label}: ${issue.message}` : `${label}: ${where}: ${issue.message}`;
  });
}

/** Parses and validates config text; never returns a half-loaded config. */
export function parseConfig(text: string, file: string): LoadedConfig {
  const label = path.basename(file);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${label}:${pos ? `${pos.line}:${pos.col}` : ''} ${e.message.split('\n')[0]}`;
    });
    throw new ConfigError(`${file} is not valid YAML`, lines);
  }
  let raw: unknown;
  try {
    // Aliases are resolved here: an unknown one, or too many (an alias bomb), fail.
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new ConfigError(`${file} is not valid YAML`, [
      `${label}: ${(error as Error).message.split('\n')[0]}`,
    ]);
  }
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(`${file} is invalid`, describeIssues(label, parsed.error));
  }
  return fromValidated(parsed.data, file);
}

function fromValidated(config: DeployConfig, file: string): LoadedConfig {
  const baseDir = path.dirname(path.resolve(file));
  const deployments = new Map<string, Deployment>();
  config.deployments.forEach(({ rules, ...d }, i) => {
    deployments.set(d.name, {
      ...d,
      // Each deployment carries every freeze window that covers it (its version's policy).
      freeze: windowsOf(config, d),
      baseDir,
      // Its own rules are kept once, resolved, after the top-level ones.
      appliedRules: appliedRules(config.rules, rules, i, d),
      timezone: config.timezone ?? 'UTC',
    });
  });
  return { file: path.resolve(file), deployments, retention: config.retention };
}

export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : String((cause as Error).message);
    throw new ConfigError(`cannot read the config file ${file}: ${why}`, [
      `${file}: ${why}. Set DEPLOY_CONFIG to your config file, or pass --config FILE.`,
    ]);
  }
  return parseConfig(text, file);
}
