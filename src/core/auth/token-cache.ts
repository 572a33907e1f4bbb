// Accepted tokens, remembered for a second by the API server of one process so
// that a busy client (deploy-tui, a script polling a run) does not wait for a
// database round trip on every request. Only acceptances are remembered:
// an unknown, expired or revoked token, and a blocked client address, are
// always looked up in PostgreSQL (and failures counted there).
//
// How stale it may be: an entry is used for TOKEN_CACHE_MS after the database
// accepted it, never past the token's expiry. A revocation by this process
// (`/deploy logout`, `deploy-bot logout` against this server) drops the entry at
// once; one by any other process reaches it by NOTIFY (usually within
// milliseconds); and whatever happens to the notification, no entry outlives
// TOKEN_CACHE_MS. So a revoked token stops working within one second at the
// latest, and a client address blocked for failed sign-ins is refused within
// one second too.

import type { TokenInfo } from './tokens.ts';

export const TOKEN_CACHE_MS = 1000;
const MAX_ENTRIES = 10_000;

type Entry = { readonly token: TokenInfo; readonly until: number; readonly expires: number };

export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? TOKEN_CACHE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The token the database accepted for this secret hash and client address, if still fresh. */
  get(hash: string, client: string): TokenInfo | null {
    const key = `${hash} ${client}`;
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    const now = this.now();
    if (now >= entry.until || now >= entry.expires) {
      this.entries.delete(key);
      return null;
    }
    return entry.token;
  }

  /** Remembers an acceptance (the database's, just now). */
  put(hash: string, client: string, token: TokenInfo): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= MAX_ENTRIES) {
      // The oldest first (insertion order).
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(`${hash} ${client}`, {
      token,
      until: this.now() + this.ttlMs,
      expires: Date.parse(token.expiresAt),
    });
  }

  /** Drops the tokens with these ids (revoked). */
  drop(ids: readonly string[]): void {
    const gone = new Set(ids);
    for (const [key, entry] of this.entries) if (gone.has(entry.token.id)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
