// deploy-tui in remote mode: the dashboard's core over the server's API
// (src/core/api/http-client.ts). Who acts is the token's user; the actor the
// dashboard passes is only for showing who you are.

import type { DeployPort } from '../../core/api/port.ts';
import type { RunView } from '../../core/api/types.ts';
import type { TuiCore } from './port.ts';

export function tuiCoreOverPort(port: DeployPort, ping: () => Promise<unknown>): TuiCore {
  // Runs that came with their change event (the server's /events/runs?with=run),
  // newest version of each, not yet read: the runs store's read after the change
  // takes it from here instead of asking the server again. Taken once; a change
  // without its run, or a resync, forgets what was kept.
  const pushed = new Map<string, RunView>();
  return {
    listRuns: async (filter = {}) => [...(await port.listRuns(filter)).items],
    getRun: async (runId) => {
      const run = pushed.get(runId);
      if (run === undefined) return port.getRun(runId);
      pushed.delete(runId);
      return run;
    },
    transitions: async (runId) => [...(await port.audit(runId))],
    policyEvaluations: async (runId) => [...(await port.policyAudit(runId))],
    readLogs: async (runId, range = {}) => [...(await port.readLogs(runId, range))],
    countLogLines: (runId) => port.countLogLines(runId),
    followLogs: (runId, onLines, options = {}) =>
      port.followLogs(runId, (lines) => onLines([...lines], 0), { afterId: options.afterId }),
    subscribeRuns: (onChange, onResync) =>
      port.followRuns(
        (change) => {
          const { run, ...plain } = change;
          const kept = pushed.get(change.runId);
          if (run === undefined) pushed.delete(change.runId);
          else if (kept === undefined || kept.version <= run.version) pushed.set(change.runId, run);
          onChange(plain);
        },
        () => {
          pushed.clear();
          onResync?.();
        },
      ),
    approvePlan: (runId, _actor, options) => port.approvePlan(runId, options),
    confirmApply: (runId, _actor, options) => port.confirmApply(runId, options),
    cancelRun: (runId, _actor, options) => port.cancelRun(runId, options),
    ping: async (timeoutMs = 2000) => {
      try {
        await Promise.race([
          ping(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('timeout')), timeoutMs).unref(),
          ),
        ]);
        return true;
      } catch {
        return false;
      }
    },
    listDeployments: async () => [...(await port.listDeployments())],
    lock: (target, _actor, reason) => port.lock(target, reason ?? ''),
    unlock: (target) => port.unlock(target),
  };
}
