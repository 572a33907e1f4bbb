// A real core on a database of the test file's own, with real workers and real
// step scripts in a temporary directory.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeployCore } from '../../src/core/api/core.ts';
import type { Actor, GroupMembership, RunView } from '../../src/core/api/types.ts';
import { parseConfig } from '../../src/core/config/load.ts';
import type { Worker } from '../../src/core/engine/worker.ts';
import type { RunStatus } from '../../src/core/lifecycle/statuses.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const REQUESTER: Actor = { id: 'U0REQUESTER', via: 'cli' };
export const APPROVER: Actor = { id: 'U0APPROVER', via: 'cli' };

export type Harness = {
  readonly core: DeployCore;
  readonly db: TestDatabase;
  readonly dir: string;
  readonly dataDir: string;
  readonly workers: Worker[];
  startWorker(options?: {
    heartbeatMs?: number;
    staleMs?: number;
    concurrency?: number;
  }): Promise<Worker>;
  waitFor(
    runId: string,
    statuses: RunStatus | readonly RunStatus[],
    timeoutMs?: number,
  ): Promise<RunView>;
  /** Writes an executable script into the source directory. */
  script(relative: string, body: string): string;
  close(): Promise<void>;
};

export type HarnessOptions = {
  /** YAML of the deployments; `{{dir}}` is replaced by the harness's directory. */
  readonly config: string;
  /** Files to write into the directory before loading the config (path → content). */
  readonly files?: Readonly<Record<string, string>>;
  readonly groups?: GroupMembership;
  readonly workers?: number;
  readonly heartbeatMs?: number;
  readonly staleMs?: number;
};

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-test-'));
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const script = (relative: string, body: string) => {
    const file = path.join(dir, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, body.startsWith('#!') ? body : `#!/bin/sh\nset -eu\n${body}`);
    chmodSync(file, 0o755);
    return file;
  };
  for (const [rel, content] of Object.entries(options.files ?? {})) script(rel, content);
  const configFile = path.join(dir, 'deploy.config.yaml');
  const yaml = options.config.replaceAll('{{dir}}', dir);
  writeFileSync(configFile, yaml);
  const db = await createTestDatabase();
  const core = await DeployCore.open({
    databaseUrl: db.url,
    dataDir,
    config: parseConfig(yaml, configFile),
    groups: options.groups,
    migrate: false,
    poolSize: 6,
  });
  const workers: Worker[] = [];
  const startWorker = async (
    o: { heartbeatMs?: number; staleMs?: number; concurrency?: number } = {},
  ) => {
    const w = await core.startWorker({
      heartbeatMs: o.heartbeatMs ?? options.heartbeatMs ?? 200,
      staleMs: o.staleMs ?? options.staleMs ?? 1500,
      concurrency: o.concurrency ?? 4,
      log: () => {},
    });
    workers.push(w);
    return w;
  };
  for (let i = 0; i < (options.workers ?? 1); i++) await startWorker();

  async function waitFor(
    runId: string,
    statuses: RunStatus | readonly RunStatus[],
    timeoutMs = 20_000,
  ) {
    const wanted: readonly RunStatus[] = typeof statuses === 'string' ? [statuses] : statuses;
    const deadline = Date.now() + timeoutMs;
    let last: RunView | null = null;
    while (Date.now() < deadline) {
      last = await core.getRun(runId);
      if (wanted.includes(last.status)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    const logs = await core.readLogs(runId, { tail: 30 });
    throw new Error(
      `run ${runId} did not reach ${wanted.join('|')} within ${timeoutMs}ms: it is ${last?.status} (${last?.error ?? ''})\n` +
        logs.map((l) => `  [${l.phase}/${l.stream}] ${l.line}`).join('\n'),
    );
  }

  return {
    core,
    db,
    dir,
    dataDir,
    workers,
    startWorker,
    waitFor,
    script,
    async close() {
      await core.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type WorkerProcess = { readonly pid: number; kill(signal?: NodeJS.Signals): Promise<void> };

/** Starts a worker in a separate Node process against the harness's database. */
export async function spawnWorkerProcess(
  h: Harness,
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    [
      path.resolve(import.meta.dirname, 'worker-process.ts'),
      h.db.url,
      path.join(h.dir, 'deploy.config.yaml'),
      h.dataDir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      if (c.includes('ready')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`worker process exited with ${code}: ${stderr}`)),
    );
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid!,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
