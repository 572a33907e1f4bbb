// The part of the core API the dashboard uses. DeployCore satisfies it; tests
// may pass a fake for failure cases a real database cannot easily produce.

import type { DeployCore } from '../../core/api/core.ts';

export type TuiCore = Pick<
  DeployCore,
  | 'listRuns'
  | 'getRun'
  | 'transitions'
  | 'readLogs'
  | 'countLogLines'
  | 'followLogs'
  | 'subscribeRuns'
  | 'approvePlan'
  | 'confirmApply'
  | 'cancelRun'
  | 'ping'
  | 'listDeployments'
  | 'lock'
  | 'unlock'
>;
