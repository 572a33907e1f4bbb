// API tokens: random, shown once, stored only as their sha256; with expiry,
// last use and revocation. A token acts only as the identity it was issued to.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Tx } from '../store/database.ts';
import { and, eq, isNull, sql } from '../store/orm.ts';
import { apiTokens, authFailures } from '../store/schema.ts';

export const TOKEN_PREFIX = 'dbt_';
/** NOTIFY channel of revocations (payload: the token ids, comma-separated): caches drop them. */
export const TOKEN_REVOKED_CHANNEL = 'deploy_bot_tokens_revoked';

type RevokedListener = (ids: readonly string[]) => void;
const revokedHere = new Set<RevokedListener>();

/** Calls `listener` with the ids of tokens revoked by this process, as soon as they are. */
export function onTokensRevokedHere(listener: RevokedListener): () => void {
  revokedHere.add(listener);
  return () => revokedHere.delete(listener);
}

/** Tells this process's caches at once, and every other process's by NOTIFY. */
async function announceRevoked(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  for (const listener of revokedHere) listener(ids);
  await db.execute(sql`select pg_notify(${TOKEN_REVOKED_CHANNEL}, ${ids.join(',')})`);
}
export const DEFAULT_TOKEN_DAYS = 30;

export type TokenKind = 'personal' | 'automation';

export type TokenInfo = {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly kind: TokenKind;
  readonly issuedBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
};

/** A Slack user id (U…/W…), or an automation identity `automation:NAME`. */
export const IDENTITY_PATTERN = /^(?:[UW][A-Z0-9]{2,30}|automation:[a-z0-9][a-z0-9._-]{0,62})$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function toInfo(row: typeof apiTokens.$inferSelect): TokenInfo {
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    kind: row.kind as TokenKind,
    issuedBy: row.issuedBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export type IssuedToken = { readonly secret: string; readonly info: TokenInfo };

/** Issues a token; the secret is returned once and never stored. */
export async function issueToken(
  db: Db | Tx,
  input: {
    readonly userId: string;
    readonly name: string;
    readonly issuedBy: string;
    readonly expiresInMs?: number | undefined;
  },
): Promise<IssuedToken> {
  const secret = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const id = `tok_${randomBytes(8).toString('hex')}`;
  const kind: TokenKind = input.userId.startsWith('automation:') ? 'automation' : 'personal';
  const expiresAt = new Date(Date.now() + (input.expiresInMs ?? DEFAULT_TOKEN_DAYS * 86_400_000));
  const [row] = await db
    .insert(apiTokens)
    .values({
      id,
      hash: hashSecret(secret),
      userId: input.userId,
      name: input.name,
      kind,
      issuedBy: input.issuedBy,
      expiresAt,
    })
    .returning();
  return { secret, info: toInfo(row!) };
}

export type Verified =
  | { readonly ok: true; readonly token: TokenInfo }
  | { readonly ok: false; readonly reason: 'unknown' | 'expired' | 'revoked' };

/** Checks a presented secret; records its last use. The stored hash is compared in constant time. */
export async function verifyToken(db: Db, secret: string): Promise<Verified> {
  const presented = hashSecret(secret);
  const [row] = await db.select().from(apiTokens).where(eq(apiTokens.hash, presented)).limit(1);
  if (!row || !timingSafeEqual(Buffer.from(row.hash, 'hex'), Buffer.from(presented, 'hex'))) {
    return { ok: false, reason: 'unknown' };
  }
  if (row.revokedAt) return { ok: false, reason: 'revoked' };
  if (row.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
  // Last use to the minute: a busy client does not write on every request.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(apiTokens).set({ lastUsedAt: sql`now()` }).where(eq(apiTokens.id, row.id));
  }
  return { ok: true, token: toInfo(row) };
}

export async function listTokens(db: Db, userId: string): Promise<TokenInfo[]> {
  const rows = await db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .orderBy(apiTokens.createdAt);
  return rows.map(toInfo);
}

/** Revokes one token of a user (by id or name), or all of them; returns how many. */
export async function revokeTokens(
  db: Db,
  userId: string,
  which: { readonly id?: string; readonly name?: string; readonly all?: boolean },
): Promise<number> {
  const conditions = [eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)];
  if (!which.all) {
    if (which.id) conditions.push(eq(apiTokens.id, which.id));
    else if (which.name) conditions.push(eq(apiTokens.name, which.name));
    else return 0;
  }
  const rows = await db
    .update(apiTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(...conditions))
    .returning({ id: apiTokens.id });
  await announceRevoked(
    db,
    rows.map((r) => r.id),
  );
  return rows.length;
}

/** Revokes the token whose secret is presented (logout). */
export async function revokeBySecret(db: Db, secret: string): Promise<boolean> {
  const rows = await db
    .update(apiTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiTokens.hash, hashSecret(secret)), isNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  await announceRevoked(
    db,
    rows.map((r) => r.id),
  );
  return rows.length > 0;
}

/**
 * One round trip for a request: how long the client is blocked (failed
 * sign-ins), and the token the secret names, if any. Then as verifyToken.
 */
export async function checkRequest(
  db: Db,
  secret: string,
  client: string,
): Promise<{ readonly blockedFor: number; readonly verified: Verified }> {
  const presented = hashSecret(secret);
  const rows = await db.execute<{
    id: string | null;
    hash: string | null;
    user_id: string;
    name: string;
    kind: string;
    issued_by: string;
    created_at: string;
    expires_at: string;
    last_used_at: string | null;
    revoked_at: string | null;
    blocked_for: number;
  }>(sql`
    select t.*, coalesce((
      select ceil(extract(epoch from (f.window_start + ${`${FAILURE_WINDOW_MS} milliseconds`}::interval - now())))::int
      from auth_failures f where f.client = ${client} and f.failures >= ${FAILURE_LIMIT}
    ), 0) as blocked_for
    from (select 1) one left join api_tokens t on t.hash = ${presented}`);
  const r = rows[0];
  const blockedFor = Math.max(0, r?.blocked_for ?? 0);
  if (
    !r?.id ||
    !r.hash ||
    !timingSafeEqual(Buffer.from(r.hash, 'hex'), Buffer.from(presented, 'hex'))
  ) {
    return { blockedFor, verified: { ok: false, reason: 'unknown' } };
  }
  const row: typeof apiTokens.$inferSelect = {
    id: r.id,
    hash: r.hash,
    userId: r.user_id,
    name: r.name,
    kind: r.kind,
    issuedBy: r.issued_by,
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    lastUsedAt: r.last_used_at ? new Date(r.last_used_at) : null,
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
  };
  if (row.revokedAt) return { blockedFor, verified: { ok: false, reason: 'revoked' } };
  if (row.expiresAt.getTime() <= Date.now())
    return { blockedFor, verified: { ok: false, reason: 'expired' } };
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.update(apiTokens).set({ lastUsedAt: sql`now()` }).where(eq(apiTokens.id, row.id));
  }
  return { blockedFor, verified: { ok: true, token: toInfo(row) } };
}

// ---- rate limiting of failed authentications (state in PostgreSQL) ----------

export const FAILURE_LIMIT = 10;
export const FAILURE_WINDOW_MS = 60_000;

/** Seconds the client must wait, or 0 when it may try. */
export async function blockedFor(db: Db, client: string): Promise<number> {
  const [row] = await db
    .select({
      failures: authFailures.failures,
      left: sql<number>`ceil(extract(epoch from (${authFailures.windowStart} + ${`${FAILURE_WINDOW_MS} milliseconds`}::interval - now())))::int`,
    })
    .from(authFailures)
    .where(eq(authFailures.client, client));
  if (!row || row.failures < FAILURE_LIMIT || row.left <= 0) return 0;
  return row.left;
}

/** Counts a failed authentication of a client in the current window. */
export async function recordFailure(db: Db, client: string): Promise<void> {
  await db
    .insert(authFailures)
    .values({ client, failures: 1 })
    .onConflictDoUpdate({
      target: authFailures.client,
      set: {
        failures: sql`case when ${authFailures.windowStart} + ${`${FAILURE_WINDOW_MS} milliseconds`}::interval < now() then 1 else ${authFailures.failures} + 1 end`,
        windowStart: sql`case when ${authFailures.windowStart} + ${`${FAILURE_WINDOW_MS} milliseconds`}::interval < now() then now() else ${authFailures.windowStart} end`,
      },
    });
}

/** Parses `30d`, `12h`, `90m`: a token lifetime. */
export function parseLifetime(text: string): number | null {
  const match = /^(\d{1,4})([dhm])$/.exec(text.trim());
  if (!match) return null;
  const n = Number(match[1]);
  if (n <= 0) return null;
  const unit = match[2] === 'd' ? 86_400_000 : match[2] === 'h' ? 3_600_000 : 60_000;
  const ms = n * unit;
  return ms > 366 * 86_400_000 ? null : ms;
}
