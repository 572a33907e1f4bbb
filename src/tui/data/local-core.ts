// deploy-tui in local mode: the dashboard's core is the engine's own, with the
// opened run read for the person at the keyboard, so it carries `allowed` (the
// decisions they may take now) exactly as a run read over the API does.

import type { LocalCore } from '../../core/api/port.ts';
import type { Actor } from '../../core/api/types.ts';
import type { TuiCore } from './port.ts';

export function tuiCoreReadingAs(
  core: LocalCore,
  actor: Actor | null,
): TuiCore & { close(): Promise<void> } {
  return {
    listRuns: (filter) => core.listRuns(filter),
    getRun: (runId) => (actor ? core.getRunFor(runId, actor) : core.getRun(runId)),
    transitions: (runId) => core.transitions(runId),
    policyEvaluations: (runId) => core.policyEvaluations(runId),
    readLogs: (runId, range) => core.readLogs(runId, range),
    countLogLines: (runId) => core.countLogLines(runId),
    followLogs: (runId, onLines, options) => core.followLogs(runId, onLines, options),
    subscribeRuns: (onChange, onResync) => core.subscribeRuns(onChange, onResync),
    approvePlan: (runId, who, options) => core.approvePlan(runId, who, options),
    confirmApply: (runId, who, options) => core.confirmApply(runId, who, options),
    cancelRun: (runId, who, options) => core.cancelRun(runId, who, options),
    ping: (timeoutMs) => core.ping(timeoutMs),
    listDeployments: (who) => core.listDeployments(who),
    lock: (target, who, reason) => core.lock(target, who, reason),
    unlock: (target, who) => core.unlock(target, who),
    close: () => core.close(),
  };
}
