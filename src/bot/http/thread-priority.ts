// CPU priority of one thread. The HTTP thread acks Slack's requests; the main
// thread's work (listeners, outbox, the engine's workers and the steps they
// start) can wait a few milliseconds. When the machine is busy with that work,
// the thread that acks must not queue behind it for a core, so the main thread
// runs at a lower priority (a higher nice value) than the HTTP thread.
//
// On Linux the nice value is per thread: setpriority(PRIO_PROCESS, 0) sets the
// calling thread's, and the threads and processes it starts later inherit it.
// Elsewhere it is the whole process's, which would lower the HTTP thread's with
// it, so nothing is changed there.

import { getPriority, setPriority } from 'node:os';

export const NICE_PER_THREAD = process.platform === 'linux';
const LOWEST = 19;

export type NiceChange = { readonly from: number; readonly to: number };

/** The calling thread's nice value. */
export function threadNice(): number {
  return getPriority(0);
}

/**
 * Lowers the calling thread's priority by `by` (a nice value up to 19). Returns
 * the values before and after, or null when nice values are not per thread.
 * Throws (the system's error) when the system refuses.
 */
export function lowerThreadPriority(by: number): NiceChange | null {
  if (!NICE_PER_THREAD || by <= 0) return null;
  const from = getPriority(0);
  const to = Math.min(LOWEST, from + by);
  if (to !== from) setPriority(0, to);
  return { from, to };
}

/**
 * Sets the calling thread's nice value back to `nice` when it is higher (a thread
 * started by a lowered thread inherits its value). Raising a priority needs
 * CAP_SYS_NICE; returns whether the thread now runs at `nice`.
 */
export function restoreThreadPriority(nice: number): boolean {
  if (!NICE_PER_THREAD || getPriority(0) <= nice) return true;
  try {
    setPriority(0, nice);
    return true;
  } catch {
    // EACCES without CAP_SYS_NICE: the caller says what that means.
    return false;
  }
}
