// Refusal vs error. A Refusal is an expected "no" (not an approver, wrong state,
// busy): it carries a code and the exact sentence the person sees. Anything else
// is an unexpected error and is wrapped with its cause, never swallowed.

export const REFUSAL_CODES = [
  'unknown_deployment',
  'unknown_run',
  'invalid_variables',
  'channel_not_allowed',
  'not_approver',
  'self_approval',
  'wrong_status',
  'plan_changed',
  'deployment_busy',
  'not_cancellable',
  'no_identity',
  'not_supported',
  'approval_expired',
  'no_config',
  'membership_unconfirmed',
  // Approval requirements (src/core/policy/evaluate.ts): details say which.
  'already_approved',
  'plan_approver',
  'approval_not_needed',
  'rule_denied',
  'rule_failed',
  // Holds (freezes and locks): see src/core/policy/holds.ts.
  'frozen',
  'locked',
  'already_locked',
  'not_locked',
  'lock_not_allowed',
  'reason_required',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly code: RefusalCode;
  /** Extra facts for front ends (e.g. the closest deployment name, the run ahead). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: RefusalCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export function isRefusal(error: unknown): error is Refusal {
  return error instanceof Refusal;
}

/** A config file that cannot be used: every problem found, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[]) {
    super(`${message}:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

export function wrapError(message: string, cause: unknown): Error {
  return new Error(`${message}: ${errorMessage(cause)}`, { cause });
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
