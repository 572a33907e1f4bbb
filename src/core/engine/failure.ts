// A step that failed in an expected way: its phase, the full error and a
// recovery hint made concrete by the cause. The engine records it on the run;
// the hint is in words no front end owns (the steps that go with it, a command
// or a button, are each front end's: see recoveryStepsOf).

import { formatSettingDuration } from '../config/duration.ts';
import type { StepResult } from '../executors/process.ts';
import { PARTLY_CHANGED } from '../lifecycle/recovery.ts';
import type { Phase } from '../lifecycle/statuses.ts';

export class StepFailure extends Error {
  override readonly name = 'StepFailure';
  readonly phase: Phase;
  readonly hint: string;

  constructor(phase: Phase, message: string, hint: string) {
    super(message);
    this.phase = phase;
    this.hint = hint;
  }
}

/** Generic guidance per phase, from the product's recovery table. */
export const PHASE_GUIDANCE: { readonly [P in Phase]: string } = {
  detect: 'fix the source or the configuration',
  plan: 'fix the deployment code, its variables or resource settings',
  execute: 'inspect the server, credentials, build and runtime logs',
  verify: 'inspect health, network, proxy and access route',
  rollback: 'manual intervention is required; save the diagnostics (the whole log) first',
};

/** Turns a step's unsuccessful result into a failure with a concrete hint. */
export function failureOf(
  phase: Phase,
  label: string,
  result: Exclude<StepResult, { outcome: 'succeeded' }>,
  timeoutMs: number,
  setting: string,
): StepFailure {
  const after = phase === 'execute' ? `; ${PARTLY_CHANGED}` : '';
  switch (result.outcome) {
    case 'timed_out':
      return new StepFailure(
        phase,
        `${label} ran longer than its ${formatSettingDuration(timeoutMs)} limit and was stopped`,
        `${label} exceeded ${setting} (${formatSettingDuration(timeoutMs)}): make it faster or raise ${setting}${after}`,
      );
    case 'aborted':
      return new StepFailure(
        phase,
        `${label} was stopped`,
        `the run was stopped while ${label} ran${after}`,
      );
    case 'failed': {
      const how = `${label} ${howItEnded(result)}`;
      return new StepFailure(
        phase,
        withOutput(how, result.output),
        `${how}: read its log, then ${PHASE_GUIDANCE[phase]}${after}`,
      );
    }
  }
}

/** "exited with code 3", "was killed by SIGKILL". */
export function howItEnded(result: Extract<StepResult, { outcome: 'failed' }>): string {
  return result.exitCode !== null
    ? `exited with code ${result.exitCode}`
    : `was killed by ${result.signal}`;
}

/**
 * The failure and, after it, what the step itself said (its `Error:` blocks or
 * last stderr lines): the first line of a run's error names the real cause.
 */
function withOutput(what: string, output: string | null): string {
  return output === null ? what : `${what}: ${output}`;
}
