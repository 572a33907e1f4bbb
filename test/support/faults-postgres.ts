// A PostgreSQL of a test file's own (the product's embedded server, in a
// temporary data directory) that the test may stop and start again, and worker
// processes pointed at any database URL.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startQueue } from '../../src/core/queue/boss.ts';
import { migrateDatabase } from '../../src/core/store/database.ts';
import {
  ensureEmbeddedPostgres,
  stopEmbeddedPostgres,
} from '../../src/server/embedded-postgres.ts';

export type OwnPostgres = {
  /** The temporary directory that holds everything (config, data). */
  readonly dir: string;
  /** DEPLOY_BOT_DATA_DIR: the embedded cluster (`postgres/`), workspaces and state. */
  readonly dataDir: string;
  readonly url: string;
  readonly port: number;
  /** Fast shutdown of the server (its sessions end at once); true when it was running. */
  stop(): Promise<boolean>;
  /** Starts it again on the same data directory (and port); resolves when it answers. */
  start(): Promise<{ url: string; port: number }>;
  /** Stops it and removes every file, the cluster's real directory included. */
  remove(): Promise<void>;
};

/**
 * Initialises and starts an embedded PostgreSQL in a new temporary directory,
 * migrates it and installs pg-boss's schema (as test/support/global-setup.ts
 * does for the template). As root, the cluster itself lives in
 * /var/lib/deploy-bot (the postgres user cannot enter a private temporary
 * directory) and `<dataDir>/postgres` links to it; remove() deletes both.
 */
export async function startOwnPostgres(prefix: string): Promise<OwnPostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dataDir = path.join(dir, 'data');
  const remove = async () => {
    await stopEmbeddedPostgres(dataDir).catch(() => false);
    const cluster = path.join(dataDir, 'postgres');
    if (existsSync(cluster)) rmSync(realpathSync(cluster), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The embedded server prefers port 54329; two files initialising a server
    // at the same moment could both pick it. A port of our own is suggested the
    // way the product remembers one: in postgres.json beside the cluster.
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'postgres.json'), JSON.stringify({ port: await freePort() }));
    const server = await ensureEmbeddedPostgres(dataDir, 'deploy_bot');
    await migrateDatabase(server.url);
    const queue = await startQueue(server.url, { supervise: false });
    await queue.stop();
    return {
      dir,
      dataDir,
      url: server.url,
      port: server.port,
      stop: () => stopEmbeddedPostgres(dataDir),
      async start() {
        const again = await ensureEmbeddedPostgres(dataDir, 'deploy_bot');
        return { url: again.url, port: again.port };
      },
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** A port nothing listens on right now, from the kernel's ephemeral range. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type WorkerHandle = {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Still running (it did not exit or crash). */
  alive(): boolean;
  /** What it wrote on stderr so far (its log). */
  stderr(): string;
  /** SIGTERM (graceful) by default; resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
};

/**
 * Starts test/support/worker-process.ts against `url` with `configFile` and
 * `dataDir`; resolves once it says it is ready. TEST_HEARTBEAT_MS, TEST_STALE_MS
 * and TEST_CONCURRENCY in `env` tune its worker.
 */
export async function spawnWorker(options: {
  readonly url: string;
  readonly configFile: string;
  readonly dataDir: string;
  readonly env?: Readonly<Record<string, string>>;
}): Promise<WorkerHandle> {
  const child = spawn(
    process.execPath,
    [
      path.resolve(import.meta.dirname, 'worker-process.ts'),
      options.url,
      options.configFile,
      options.dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('ready')) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`worker process exited with ${code ?? signal}: ${stderr}`)),
    );
  });
  return {
    pid: child.pid!,
    child,
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => stderr,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
