// Why a step could not be started: shared by the runner and the sandbox.

/** A step that cannot be started at all: missing, not executable. Says what to fix. */
export class StepLaunchError extends Error {
  override readonly name = 'StepLaunchError';
  /** not_found: the program is not on PATH (or not in the workspace). */
  readonly code: 'not_found' | 'not_runnable';

  constructor(message: string, code: 'not_found' | 'not_runnable' = 'not_runnable') {
    super(message);
    this.code = code;
  }
}
