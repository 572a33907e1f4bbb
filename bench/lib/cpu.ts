// CPU time spent by the processes of a benchmark, read from /proc (Linux): each
// process's own user+system time, and what its reaped children (the steps) used.
// PostgreSQL is counted as the backends connected to the benchmark's database.

import { readFileSync } from 'node:fs';
import postgres from 'postgres';

const HZ = 100; // USER_HZ: what /proc/<pid>/stat counts in on Linux

export type CpuTimes = { self: number; children: number };

/** Seconds of CPU of one process so far (zero when it is gone). */
export function cpuOf(pid: number): CpuTimes {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i] ?? 0) / HZ;
    return { self: n(11) + n(12), children: n(13) + n(14) };
  } catch {
    return { self: 0, children: 0 };
  }
}

/** Child processes of `pid` still running (its step runner, a running step). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * A process and what it started: its own time, plus its live children's own
 * and reaped-children time (the step runner and the steps it started).
 */
export function cpuOfTree(pid: number): CpuTimes {
  const own = cpuOf(pid);
  let children = own.children;
  for (const child of childrenOf(pid)) {
    const c = cpuOf(child);
    children += c.self + c.children;
  }
  return { self: own.self, children };
}

export function cpuDelta(before: CpuTimes, after: CpuTimes): CpuTimes {
  return { self: after.self - before.self, children: after.children - before.children };
}

/** Process ids of the PostgreSQL backends connected to the database of `url`. */
export async function backendPids(url: string): Promise<number[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ pid: number }[]>`
      select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
    return rows.map((r) => r.pid);
  } finally {
    await sql.end();
  }
}

/** Sum of the backends' CPU (they live as long as the pools that opened them). */
export function sumCpu(pids: readonly number[]): number {
  return pids.reduce((total, pid) => total + cpuOf(pid).self, 0);
}
