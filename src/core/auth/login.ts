// `deploy-bot login`: the CLI asks for a one-time code (keeping a secret of
// its own), the person types `/deploy login CODE` in Slack, the bot binds the
// request to the Slack user of that signed request, and only the CLI process
// holding the secret collects the new token. Codes are single-use and expire
// in 10 minutes; nothing secret is stored in plain text.

import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/database.ts';
import { and, eq, gt, isNull, sql } from '../store/orm.ts';
import { loginRequests } from '../store/schema.ts';
import { hashSecret, type IssuedToken, issueToken } from './tokens.ts';

export const LOGIN_TTL_MS = 10 * 60_000;
// No 0/O, 1/I/L: easy to read and type.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export function newLoginCode(): string {
  const pick = () => ALPHABET[randomInt(ALPHABET.length)];
  return `${Array.from({ length: 4 }, pick).join('')}-${Array.from({ length: 4 }, pick).join('')}`;
}

/** What a person may type: case and the dash do not matter. */
export function normaliseCode(text: string): string {
  const plain = text.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return plain.length === 8 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : plain;
}

export async function startLogin(
  db: Db,
  input: { readonly verifierHash: string; readonly clientHost: string },
): Promise<{ code: string; expiresAt: Date }> {
  const code = newLoginCode();
  const expiresAt = new Date(Date.now() + LOGIN_TTL_MS);
  await db.insert(loginRequests).values({
    id: `lgn_${randomBytes(8).toString('hex')}`,
    codeHash: hashSecret(code),
    verifierHash: input.verifierHash,
    clientHost: input.clientHost.slice(0, 200),
    expiresAt,
  });
  return { code, expiresAt };
}

export type LoginApproval =
  | { readonly ok: true; readonly clientHost: string; readonly requestedAt: Date }
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' | 'used' };

/** The signed `/deploy login CODE`: binds the waiting request to this Slack user, once. */
export async function approveLogin(db: Db, code: string, userId: string): Promise<LoginApproval> {
  const codeHash = hashSecret(normaliseCode(code));
  const [row] = await db
    .update(loginRequests)
    .set({ userId, approvedAt: sql`now()` })
    .where(
      and(
        eq(loginRequests.codeHash, codeHash),
        isNull(loginRequests.approvedAt),
        gt(loginRequests.expiresAt, sql`now()`),
      ),
    )
    .returning();
  if (row) return { ok: true, clientHost: row.clientHost, requestedAt: row.createdAt };
  const [existing] = await db
    .select()
    .from(loginRequests)
    .where(eq(loginRequests.codeHash, codeHash));
  if (!existing) return { ok: false, reason: 'unknown' };
  return { ok: false, reason: existing.approvedAt ? 'used' : 'expired' };
}

export type LoginCollection =
  | { readonly status: 'pending' }
  | { readonly status: 'done'; readonly token: IssuedToken }
  | { readonly status: 'expired' | 'unknown' };

/** The waiting CLI asks for its token; only the holder of the verifier gets it, once. */
export async function collectLogin(
  db: Db,
  code: string,
  verifier: string,
): Promise<LoginCollection> {
  const codeHash = hashSecret(normaliseCode(code));
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(loginRequests)
      .where(eq(loginRequests.codeHash, codeHash))
      .for('update');
    if (!row) return { status: 'unknown' };
    const presented = Buffer.from(hashSecret(verifier), 'hex');
    if (!timingSafeEqual(presented, Buffer.from(row.verifierHash, 'hex'))) {
      return { status: 'unknown' };
    }
    if (row.collectedAt) return { status: 'unknown' };
    if (!row.approvedAt || !row.userId) {
      return row.expiresAt.getTime() <= Date.now() ? { status: 'expired' } : { status: 'pending' };
    }
    const token = await issueToken(tx, {
      userId: row.userId,
      name: `login from ${row.clientHost}`,
      issuedBy: 'slack (/deploy login)',
    });
    await tx
      .update(loginRequests)
      .set({ collectedAt: sql`now()`, tokenId: token.info.id })
      .where(eq(loginRequests.id, row.id));
    return { status: 'done', token };
  });
}
