// `retention:` in the config file: how long run logs and plan artifacts are
// kept after a run ends (runs and their audit trail: kept unless set), and
// how gently the pass works beside live runs.

import { z } from 'zod';
import { formatSettingDuration, parseDuration } from '../config/duration.ts';

const DAY = 86_400_000;

/** "2y" and "8w" as days (a year: 365 days); anything else as config durations are written. */
function retentionDuration(value: string | number): number | null {
  const long = typeof value === 'string' ? /^\s*(\d+)\s*([yw])\s*$/.exec(value) : null;
  if (long) return Number(long[1]) * (long[2] === 'y' ? 365 : 7) * DAY;
  return parseDuration(value);
}

/** A duration ("90d", "720h", "2y") or `keep` (never removed). Null: kept forever. */
const keepOrDuration = (what: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx): number | null => {
    if (value === 'keep') return null;
    const ms = retentionDuration(value);
    if (ms === null || ms < DAY) {
      ctx.addIssue({
        code: 'custom',
        message: `${what}: expected keep, or a duration of at least a day like 30d, 90d or 2y, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** The share of its time the pass may work: "25%" or 0.25; it sleeps the rest. */
const share = z.union([z.string(), z.number()]).transform((value, ctx): number => {
  const text = String(value).trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  const n = percent ? Number(percent[1]) / 100 : /^\d*\.?\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0.01 && n <= 1)) {
    ctx.addIssue({
      code: 'custom',
      message: `pace: expected the share of its time the pass may work, from 1% to 100% (or 0.01 to 1), like 25%, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return n;
});

const BATCH_LINES_ERROR = {
  error: 'batchLines: expected a whole number of log lines, 100 to 100000',
};

export const DEFAULT_PACE = 0.25;
export const DEFAULT_BATCH_LINES = 1000;

export const retentionSchema = z
  .strictObject({
    /** Run log lines, counted from the run's end. */
    runLogs: keepOrDuration('runLogs').default(90 * DAY),
    /** The plan's stored artifacts (the plan text and counts stay). */
    planArtifacts: keepOrDuration('planArtifacts').default(30 * DAY),
    /** Finished runs, with their plan, approvals, audit trail and log, counted from the run's end. */
    runs: keepOrDuration('runs').default(null),
    /** A finished run's audit trail (its transitions and rule evaluations); `keep`: as long as the run. */
    audit: keepOrDuration('audit').default(null),
    /** After each statement the pass sleeps so that it works at most this share of the time. */
    pace: share.default(DEFAULT_PACE),
    /** Log lines removed per statement: a short statement, a short hold on the disk. */
    batchLines: z
      .number(BATCH_LINES_ERROR)
      .int(BATCH_LINES_ERROR)
      .min(100, BATCH_LINES_ERROR)
      .max(100_000, BATCH_LINES_ERROR)
      .default(DEFAULT_BATCH_LINES),
  })
  .superRefine((r, ctx) => {
    if (r.runs !== null && r.audit !== null && r.audit > r.runs)
      ctx.addIssue({
        code: 'custom',
        path: ['audit'],
        message: `audit: an audit trail goes with its run, so it cannot be kept longer than runs (${describeKeep(r.runs)}): write at most that, or keep (as long as the run)`,
      });
  })
  .default({
    runLogs: 90 * DAY,
    planArtifacts: 30 * DAY,
    runs: null,
    audit: null,
    pace: DEFAULT_PACE,
    batchLines: DEFAULT_BATCH_LINES,
  });

export type Retention = z.output<typeof retentionSchema>;

export const DEFAULT_RETENTION: Retention = retentionSchema.parse(undefined);

export function describeKeep(ms: number | null): string {
  if (ms === null) return 'kept';
  return ms % DAY === 0 ? `${ms / DAY} days` : formatSettingDuration(ms);
}

/** How the pass paces itself, as the README and `deploy-bot prune` say it. */
export function describePace(retention: Retention): string {
  return `pace ${Math.round(retention.pace * 100)}%: it works at most that share of the time and sleeps the rest; ${retention.batchLines.toLocaleString('en-US')} log lines per statement`;
}
