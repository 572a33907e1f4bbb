// The API server's memory of accepted tokens (src/core/auth/token-cache.ts):
// how long an acceptance is used, and what ends it sooner.

import { describe, expect, it } from 'vitest';
import { TokenCache } from '../src/core/auth/token-cache.ts';
import type { TokenInfo } from '../src/core/auth/tokens.ts';

const token = (id: string, expiresAt: number): TokenInfo => ({
  id,
  userId: 'U0ALICE',
  name: 'laptop',
  kind: 'personal',
  issuedBy: 'test',
  createdAt: new Date(0).toISOString(),
  expiresAt: new Date(expiresAt).toISOString(),
  lastUsedAt: null,
  revokedAt: null,
});

describe('TokenCache', () => {
  it('uses an acceptance for the time it is given, for that client address only', () => {
    let now = Date.now();
    const cache = new TokenCache({ ttlMs: 1000, now: () => now });
    cache.put('h1', '10.0.0.1', token('tok_a', now + 86_400_000));
    expect(cache.get('h1', '10.0.0.1')?.id).toBe('tok_a');
    expect(cache.get('h1', '10.0.0.2')).toBeNull();
    now += 999;
    expect(cache.get('h1', '10.0.0.1')?.id).toBe('tok_a');
    now += 1;
    expect(cache.get('h1', '10.0.0.1')).toBeNull();
  });

  it('never past the token expiry, and not once the token is dropped (revoked)', () => {
    let now = Date.now();
    const cache = new TokenCache({ ttlMs: 1000, now: () => now });
    cache.put('h1', 'c', token('tok_a', now + 100));
    cache.put('h2', 'c', token('tok_b', now + 86_400_000));
    cache.put('h2', 'd', token('tok_b', now + 86_400_000));
    now += 100;
    expect(cache.get('h1', 'c')).toBeNull();
    cache.drop(['tok_b']);
    expect(cache.get('h2', 'c')).toBeNull();
    expect(cache.get('h2', 'd')).toBeNull();
  });
});
