// The verify phase: HTTP health checks with retries, and/or a command.

import { formatSettingDuration } from '../config/duration.ts';
import type { VerifyConfig } from '../config/schema.ts';
import { runStep, type StepRequest } from '../executors/process.ts';
import { failureOf, howItEnded, StepFailure } from './failure.ts';

export type VerifyContext = {
  readonly verify: VerifyConfig;
  readonly log: (line: string) => void;
  readonly step: Omit<StepRequest, 'label' | 'command' | 'timeoutMs'>;
  readonly signal: AbortSignal;
};

function sleep(ms: number, signal: AbortSignal) {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

async function checkHttp(ctx: VerifyContext, http: NonNullable<VerifyConfig['http']>) {
  const attempts = http.retries + 1;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (ctx.signal.aborted)
      throw new StepFailure('verify', 'verify was stopped', 'the run was stopped during verify');
    try {
      const response = await fetch(http.url, {
        signal: AbortSignal.any([AbortSignal.timeout(http.timeout), ctx.signal]),
        redirect: 'manual',
      });
      await response.body?.cancel();
      if (response.status === http.expectStatus) {
        ctx.log(`health check ${http.url}: ${response.status} (attempt ${attempt}/${attempts})`);
        return;
      }
      last = `answered ${response.status} (expected ${http.expectStatus})`;
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      last =
        e.name === 'TimeoutError'
          ? `did not answer within ${formatSettingDuration(http.timeout)}`
          : `could not be reached (${e.cause?.code ?? e.message})`;
    }
    ctx.log(`health check ${http.url} ${last} (attempt ${attempt}/${attempts})`);
    if (attempt < attempts) await sleep(http.interval, ctx.signal);
  }
  throw new StepFailure(
    'verify',
    `health check ${http.url} ${last} after ${attempts} attempts`,
    `health check ${http.url} ${last}: inspect the service's health endpoint, its listener port, the proxy and the access route`,
  );
}

export async function runVerify(ctx: VerifyContext): Promise<void> {
  const { verify } = ctx;
  if (verify.http) await checkHttp(ctx, verify.http);
  if (verify.command) {
    const label = `verify command ${verify.command}`;
    ctx.log(`running ${label}`);
    const result = await runStep({
      ...ctx.step,
      label,
      command: verify.command,
      timeoutMs: verify.timeout,
    });
    if (result.outcome !== 'succeeded') {
      const failure = failureOf('verify', label, result, verify.timeout, 'verify.timeout');
      const how = result.outcome === 'failed' ? `${label} ${howItEnded(result)}` : failure.message;
      throw new StepFailure(
        'verify',
        failure.message,
        `${how}: read its output in the log, then inspect health, network, proxy and access route`,
      );
    }
  }
}
