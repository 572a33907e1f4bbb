// The part of the core API the dashboard uses. The core in this process (LocalCore) satisfies it; tests
// may pass a fake for failure cases a real database cannot easily produce.

import type { LocalCore } from '../../core/api/port.ts';

export type TuiCore = Pick<
  LocalCore,
  | 'listRuns'
  | 'getRun'
  | 'transitions'
  | 'policyEvaluations'
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
