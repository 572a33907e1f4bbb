import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureEmbeddedPostgres, stopEmbeddedPostgres } from '../src/server/embedded-postgres.ts';

// The product's own embedded database (not the test server): shared by every
// process on the machine, started once, never re-initialised.
const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-bot-embedded-'));

afterAll(async () => {
  await stopEmbeddedPostgres(dir);
  // As root with a private temporary directory, the cluster lives outside it.
  const cluster = path.join(dir, 'postgres');
  if (existsSync(cluster)) rmSync(realpathSync(cluster), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

function startInChild(): Promise<{ url: string; started: boolean }> {
  const script = `
    const { ensureEmbeddedPostgres } = await import(${JSON.stringify(path.resolve(import.meta.dirname, '../src/server/embedded-postgres.ts'))});
    const s = await ensureEmbeddedPostgres(${JSON.stringify(dir)});
    process.stdout.write(JSON.stringify({ url: s.url, started: s.started }));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
  });
}

describe('embedded PostgreSQL', () => {
  it('two processes starting at once share one server, and it outlives them', async () => {
    const [a, b] = await Promise.all([startInChild(), startInChild()]);
    expect(a.url).toBe(b.url);
    expect([a.started, b.started].filter(Boolean)).toHaveLength(1);
    // Both processes have exited; the server still answers.
    const sql = postgres(a.url, { max: 1, onnotice: () => {} });
    await sql`create table kept (v text)`;
    await sql`insert into kept values ('survives restarts')`;
    await sql.end();
  });

  it('a restart keeps the data and does not initialise again', async () => {
    expect(await stopEmbeddedPostgres(dir)).toBe(true);
    const again = await ensureEmbeddedPostgres(dir);
    expect(again.started).toBe(true);
    const sql = postgres(again.url, { max: 1, onnotice: () => {} });
    const rows = await sql`select v from kept`;
    await sql.end();
    expect(rows.map((r) => r.v)).toEqual(['survives restarts']);
    const second = await ensureEmbeddedPostgres(dir);
    expect(second.started).toBe(false);
    expect(second.url).toBe(again.url);
  });

  it('runs as the postgres user when started by root', () => {
    if (process.getuid?.() !== 0) return;
    const pid = execFileSync('head', ['-1', path.join(dir, 'postgres', 'postmaster.pid')], {
      encoding: 'utf8',
    }).trim();
    const user = execFileSync('ps', ['-o', 'user=', '-p', pid], { encoding: 'utf8' }).trim();
    expect(user).toBe('postgres');
  });
});
