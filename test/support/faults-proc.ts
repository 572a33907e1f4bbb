// What /proc says about the processes on this machine: their environment and
// their arguments (Linux). Processes that end while being read are skipped.

import { readdirSync, readFileSync } from 'node:fs';

export type ProcessInfo = {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly env: readonly string[];
};

function read(pid: string, what: 'cmdline' | 'environ'): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/${what}`).toString('utf8').split('\0').filter(Boolean);
  } catch {
    return null; // gone, or not ours to read
  }
}

/** Every process whose arguments (and, when readable, environment) could be read. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = read(entry, 'cmdline');
    if (argv === null) continue;
    out.push({ pid: Number(entry), argv, env: read(entry, 'environ') ?? [] });
  }
  return out;
}

/** Processes whose environment has exactly `NAME=value`. */
export function processesWithEnv(name: string, value: string): ProcessInfo[] {
  return listProcesses().filter((p) => p.env.includes(`${name}=${value}`));
}
