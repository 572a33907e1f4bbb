// Slack's request signature: v0= + hex HMAC-SHA256 of "v0:{timestamp}:{raw body}"
// keyed by the signing secret. Requests more than five minutes away from now
// (either way) are refused, so a captured request cannot be replayed later.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SKEW_SECONDS = 5 * 60;

export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function verifySlackSignature(input: {
  readonly signingSecret: string;
  readonly body: string;
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
  readonly nowSeconds?: number;
}): VerifyResult {
  const { signature, timestamp } = input;
  if (signature === undefined || timestamp === undefined) {
    return {
      ok: false,
      reason: 'unsigned: x-slack-signature or x-slack-request-timestamp missing',
    };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed timestamp' };
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'stale: the timestamp is more than five minutes from now' };
  }
  const match = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!match) return { ok: false, reason: 'malformed signature' };
  const expected = createHmac('sha256', input.signingSecret)
    .update(`v0:${timestamp}:${input.body}`)
    .digest();
  const given = Buffer.from(match[1]!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature mismatch' };
  }
  return { ok: true };
}

/** Compares secrets (e.g. a bearer token) in constant time whatever their lengths. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'deploy-bot').update(a).digest();
  const hb = createHmac('sha256', 'deploy-bot').update(b).digest();
  return timingSafeEqual(ha, hb);
}
