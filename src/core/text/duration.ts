// How long something took, as every front end shows it: the same units in the
// CLI, Slack and deploy-tui (a config's own durations, "1.5s" or "10m", are
// echoed as written by config/duration.ts's formatSettingDuration).

/**
 * "4s", "2m 05s", "3h 05m", "2d 4h", "120d": the two largest units, the
 * second padded. `compact` leaves out the space, for a narrow column ("2m05s").
 */
export function formatDuration(ms: number, options: { readonly compact?: boolean } = {}): string {
  if (!Number.isFinite(ms)) return '—';
  const sep = options.compact === true ? '' : ' ';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${sep}${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${sep}${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  if (d < 100) return `${d}d${sep}${h % 24}h`;
  return `${d}d`;
}
