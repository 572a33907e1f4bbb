// Shared by the fault and abuse suite (test/faults): how many trials to run,
// waiting for conditions (never for fixed times), and the figures each file
// measures, printed and (with FAULT_REPORT_FILE) appended as JSON lines so a
// run of `npm run test:faults` can be summed up in the issue note.

import { appendFileSync } from 'node:fs';

/** Trials per kind of fault: 3 in `npm test`, 20 in `npm run test:faults`. */
export const TRIALS = Math.max(1, Number(process.env.FAULT_TRIALS ?? 20) || 1);
/** The full run (`npm run test:faults`): long outages, more rounds, more property runs. */
export const FULL = TRIALS >= 20;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it is truthy; throws with `what` (and the last `detail`) after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  timeoutMs = 30_000,
  options: { intervalMs?: number; detail?: () => string | Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = null;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = options.detail ? await Promise.resolve(options.detail()).catch(String) : '';
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}${detail ? `\n${detail}` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}

export type Figures = Readonly<Record<string, number | string | boolean>>;

/**
 * Records what a fault test measured (trials, refusals, lost, duplicates, stuck…).
 * Printed on stdout, and appended to FAULT_REPORT_FILE when it is set.
 */
export function reportFigures(suite: string, figures: Figures): void {
  const line = { suite, trials: TRIALS, ...figures };
  process.stdout.write(`[fault figures] ${JSON.stringify(line)}\n`);
  const file = process.env.FAULT_REPORT_FILE;
  if (file) appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...line })}\n`);
}

/** A marker unlikely to appear anywhere by chance (for secrets and marker files). */
export function uniqueToken(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}
