// Ages and durations for a dashboard: short, fixed-ish width, computed from the
// timestamps in a RunView against a clock the app ticks once a second.

import { formatDuration } from '../../core/text/duration.ts';

/** "4s", "12m", "3h05m", "2d4h": the shared duration, compact (at most 6 columns). */
export function shortDuration(ms: number): string {
  return formatDuration(ms, { compact: true });
}

export type Timed = {
  readonly createdAt: string;
  readonly finishedAt: string | null;
};

/**
 * The age column: how long a running run has been going ("1m04s"), or how long
 * ago a finished run ended ("3h ago").
 */
export function runTime(
  run: Timed,
  now: number,
): { readonly text: string; readonly running: boolean } {
  const created = Date.parse(run.createdAt);
  if (run.finishedAt === null) return { text: shortDuration(now - created), running: true };
  return { text: `${roughAge(now - Date.parse(run.finishedAt))} ago`, running: false };
}

/** "42s", "12m", "5h", "3d": how long ago, to the largest unit. */
export function roughAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** How long a run took, or has taken so far. */
export function runDuration(run: Timed, now: number): string {
  const end = run.finishedAt === null ? now : Date.parse(run.finishedAt);
  return shortDuration(end - Date.parse(run.createdAt));
}

/** "14:03:07" in local time, or "May 01 14:03" when not today. */
export function clock(iso: string, now: number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const hh = String(d.getHours()).padStart(2, '0');
  const mm = String(d.getMinutes()).padStart(2, '0');
  const ss = String(d.getSeconds()).padStart(2, '0');
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return `${hh}:${mm}:${ss}`;
  const month = d.toLocaleString('en', { month: 'short' });
  return `${month} ${String(d.getDate()).padStart(2, '0')} ${hh}:${mm}`;
}
