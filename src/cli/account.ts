// `deploy-bot login`, `logout` and `token`: signing in to a server (remote
// mode) and issuing tokens with database access (local mode).

import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { z } from 'zod';
import { forgetCredential, loadCredential, saveCredential } from '../client/credentials.ts';
import { AccountUsageError } from '../client/remote.ts';
import { accountsOf } from '../core/api/accounts.ts';
import { DeployCore } from '../core/api/core.ts';
import { ApiError, normaliseServer } from '../core/api/http-client.ts';
import { IDENTITY_PATTERN, parseLifetime } from '../core/auth/tokens.ts';
import type { Settings } from '../core/settings.ts';
import { resolveDatabaseUrl } from '../server/embedded-postgres.ts';

type Io = { out: (text: string) => void; err: (text: string) => void };

/** The OS user, for the audit of an administrator's --as and the tokens they issue. */
export function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(
  url: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  } catch (cause) {
    throw new ApiError(
      0,
      'unreachable',
      `cannot reach ${url}: ${(cause as Error & { cause?: Error }).cause?.message ?? (cause as Error).message}`,
    );
  }
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    throw new ApiError(
      response.status,
      'bad_response',
      `${url} answered ${response.status} with something other than JSON: is it a deploy-bot server?`,
    );
  }
  return { status: response.status, json };
}

export async function login(
  serverFlag: string | undefined,
  env: NodeJS.ProcessEnv,
  io: Io,
  options: { readonly pollMs?: number; readonly timeoutMs?: number } = {},
): Promise<number> {
  const raw = serverFlag ?? env.DEPLOY_SERVER;
  if (!raw)
    throw new AccountUsageError(
      'login needs --server URL (or DEPLOY_SERVER): the address of deploy-bot serve',
    );
  const server = normaliseServer(raw);
  // The secret only this process knows: the server keeps its hash, and gives
  // the token only to whoever shows the secret itself.
  const verifier = randomBytes(32).toString('base64url');
  const verifierHash = createHash('sha256').update(verifier).digest('hex');
  const started = await post(`${server}/api/v1/login/start`, {
    verifierHash,
    clientHost: os.hostname(),
  });
  if (started.status !== 201) {
    throw new ApiError(
      started.status,
      String(started.json.code ?? 'error'),
      String(started.json.message ?? `${server} answered ${started.status}`),
    );
  }
  const code = z.string().parse(started.json.code);
  io.out(
    `To sign in, type this in Slack (the code works once, for 10 minutes):\n\n    /deploy login ${code}\n\nWaiting…`,
  );
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000 + 5000);
  while (Date.now() < deadline) {
    await sleep(options.pollMs ?? 1000);
    const collected = await post(`${server}/api/v1/login/collect`, { code, verifier });
    if (collected.status === 202) continue;
    if (collected.status === 200) {
      const token = z.string().parse(collected.json.token);
      const user = z.string().parse(collected.json.user);
      const file = saveCredential(
        server,
        {
          token,
          user,
          tokenId: String(collected.json.tokenId ?? ''),
          savedAt: new Date().toISOString(),
        },
        env,
      );
      io.out(`signed in as <@${user}> (token kept in ${file})`);
      return 0;
    }
    if (collected.status === 429) {
      await sleep(Number(collected.json.retryAfter ?? 5) * 1000);
      continue;
    }
    throw new ApiError(
      collected.status,
      String(collected.json.code ?? 'error'),
      String(collected.json.message ?? `${server} answered ${collected.status}`),
    );
  }
  throw new ApiError(
    410,
    'login_expired',
    'nobody typed the code within 10 minutes: run deploy-bot login again',
  );
}

export async function logout(
  serverFlag: string | undefined,
  env: NodeJS.ProcessEnv,
  io: Io,
): Promise<number> {
  const raw = serverFlag ?? env.DEPLOY_SERVER;
  if (!raw) throw new AccountUsageError('logout needs --server URL (or DEPLOY_SERVER)');
  const server = normaliseServer(raw);
  const stored = loadCredential(server, env);
  if (!stored) {
    io.out(`not signed in to ${server}: nothing to do`);
    return 0;
  }
  const answer = await post(`${server}/api/v1/logout`, {}, stored.token);
  forgetCredential(server, env);
  io.out(
    answer.status === 200
      ? `signed out of ${server}: the token is revoked and deleted from this machine`
      : `deleted the token for ${server} from this machine (the server answered ${answer.status}: it may have been revoked already)`,
  );
  return 0;
}

/** `deploy-bot token create|list|revoke` with database access (an administrator). */
export async function tokenCommand(
  args: readonly string[],
  values: {
    user?: string | undefined;
    name?: string | undefined;
    expires?: string | undefined;
    json?: boolean | undefined;
  },
  settings: Settings,
  io: Io,
): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'create' && action !== 'list' && action !== 'revoke') {
    throw new AccountUsageError(
      'token needs create, list or revoke: deploy-bot token create --user U… [--name N] [--expires 30d]',
    );
  }
  const user = values.user;
  if (!user || !IDENTITY_PATTERN.test(user)) {
    throw new AccountUsageError(
      `--user ${user ?? ''}`.trim() +
        ' must be a Slack user id (U… or W…) or an automation identity (automation:NAME, e.g. automation:ci)',
    );
  }
  const core = await DeployCore.open({
    databaseUrl: await resolveDatabaseUrl(settings),
    dataDir: settings.dataDir,
    poolSize: 2,
    applicationName: 'deploy-bot:token',
  });
  try {
    const accounts = accountsOf(core);
    if (action === 'create') {
      const expiresInMs = values.expires === undefined ? undefined : parseLifetime(values.expires);
      if (expiresInMs === null) {
        throw new AccountUsageError(
          `--expires ${values.expires} is not a lifetime: use e.g. 30d, 12h or 90m (at most 366d)`,
        );
      }
      const issued = await accounts.issueToken({
        userId: user,
        name:
          values.name ??
          (user.startsWith('automation:')
            ? user.slice('automation:'.length)
            : `issued by ${osUser()}`),
        issuedBy: `deploy-bot token create (OS user ${osUser()})`,
        expiresInMs,
      });
      if (values.json) io.out(JSON.stringify({ token: issued.secret, ...issued.info }, null, 2));
      else {
        io.out(issued.secret);
        io.err(
          `token ${issued.info.id} "${issued.info.name}" for ${issued.info.userId}, expires ${issued.info.expiresAt}. It is shown this once: only its hash is stored. Use it as DEPLOY_TOKEN, or Authorization: Bearer …`,
        );
      }
      return 0;
    }
    if (action === 'list') {
      const tokens = await accounts.listTokens(user);
      if (values.json) io.out(JSON.stringify(tokens, null, 2));
      else if (tokens.length === 0) io.out(`${user} has no tokens`);
      else
        for (const t of tokens)
          io.out(
            `${t.id}  ${t.name}  expires ${t.expiresAt}  last used ${t.lastUsedAt ?? 'never'}`,
          );
      return 0;
    }
    const which = rest[0];
    if (!which)
      throw new AccountUsageError(
        'token revoke needs a token id (tok_…) or all: deploy-bot token revoke tok_… --user U…',
      );
    const n = await accounts.revokeTokens(user, which === 'all' ? { all: true } : { id: which });
    io.out(`revoked ${n} token(s) of ${user}`);
    return n > 0 || which === 'all' ? 0 : 1;
  } finally {
    await core.close();
  }
}
