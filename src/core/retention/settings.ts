// `retention:` in the config file: how long run logs and plan artifacts are
// kept after a run ends. Runs themselves and their audit trail are kept.

import { z } from 'zod';
import { formatSettingDuration, parseDuration } from '../config/duration.ts';

const DAY = 86_400_000;

/** A duration ("90d", "720h") or `keep` (never removed). Null: kept forever. */
const keepOrDuration = (what: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx): number | null => {
    if (value === 'keep') return null;
    const ms = parseDuration(value);
    if (ms === null || ms < DAY) {
      ctx.addIssue({
        code: 'custom',
        message: `${what}: expected keep, or a duration of at least a day like 30d or 90d, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

const keepOnly = (what: string) =>
  z.literal('keep', {
    error: `${what}: only keep is supported (runs and their audit trail are never removed)`,
  });

export const retentionSchema = z
  .strictObject({
    /** Run log lines, counted from the run's end. */
    runLogs: keepOrDuration('runLogs').default(90 * DAY),
    /** The plan's stored artifacts (the plan text and counts stay). */
    planArtifacts: keepOrDuration('planArtifacts').default(30 * DAY),
    runs: keepOnly('runs').default('keep'),
    audit: keepOnly('audit').default('keep'),
  })
  .default({ runLogs: 90 * DAY, planArtifacts: 30 * DAY, runs: 'keep', audit: 'keep' });

export type Retention = z.output<typeof retentionSchema>;

export const DEFAULT_RETENTION: Retention = retentionSchema.parse(undefined);

export function describeKeep(ms: number | null): string {
  if (ms === null) return 'kept';
  return ms % DAY === 0 ? `${ms / DAY} days` : formatSettingDuration(ms);
}
