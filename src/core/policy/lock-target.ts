// What a lock holds, as people type it (`web-prod`, `env:production`, `all`)
// and say it. Pure: the CLI and the HTTP client use it without the store.

import type { LockTarget } from '../api/types.ts';

/** `web-prod`, `the environment production`, `all deployments`. */
export function describeLockTarget(target: LockTarget): string {
  if (target.scope === 'all') return 'all deployments';
  if (target.scope === 'environment') return `the environment ${target.target}`;
  return target.target ?? '';
}

/** What a person types for a target: `web-prod`, `env:production`, `all`. */
export function lockTargetText(target: LockTarget): string {
  if (target.scope === 'all') return 'all';
  if (target.scope === 'environment') return `env:${target.target}`;
  return target.target ?? '';
}

/** `NAME`, `env:ENV` or `all` → a target; null when empty or malformed. */
export function parseLockTarget(text: string): LockTarget | null {
  const trimmed = text.trim();
  if (trimmed === 'all') return { scope: 'all', target: null };
  if (trimmed.startsWith('env:')) {
    const env = trimmed.slice(4).trim();
    return env === '' ? null : { scope: 'environment', target: env };
  }
  return /^[^\s:]+$/.test(trimmed) ? { scope: 'deployment', target: trimmed } : null;
}

/** `2026-12-07 06:00 UTC`: how the end of a freeze and the time of a lock are said. */
export function formatInstant(at: Date | string): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
