// The bot's port in this process, over a DeployCore: the one module of the bot
// (with start.ts, which starts the bot and the API beside it) that sees the
// core itself. The bot's tables share the core's pool; its jobs, the core's
// pg-boss.

import { accountsOf } from '../core/api/accounts.ts';
import type { DeployCore } from '../core/api/core.ts';
import { metricsEndpoint } from '../core/metrics/endpoint.ts';
import { LOG_CHANNEL, loggedRunId } from '../core/store/run-notifications.ts';
import type { BotPort } from './port.ts';

export function localBotPort(core: DeployCore): BotPort {
  const boss = core.queue.boss;
  const accounts = accountsOf(core);
  return {
    requestRun: ({ onCreated, ...request }) =>
      core.requestRun(onCreated ? { ...request, onCreated } : request),
    approvePlan: (runId, actor, options) => core.approvePlan(runId, actor, options),
    confirmApply: (runId, actor, options) => core.confirmApply(runId, actor, options),
    cancelRun: (runId, actor, options) => core.cancelRun(runId, actor, options),
    getRun: (runId) => core.getRun(runId),
    listRuns: (filter) => core.listRuns(filter),
    listDeployments: (actor) => core.listDeployments(actor),
    deployment: (name) => core.deployment(name),
    readLogs: (runId, range) => core.readLogs(runId, range),
    planText: (runId) => core.planText(runId),
    decisionsFor: (runId, actor) => core.decisionsFor(runId, actor),
    lock: (target, actor, reason) => core.lock(target, actor, reason),
    unlock: (target, actor) => core.unlock(target, actor),
    listLocks: () => core.listLocks(),
    subscribeRuns: (onChange, onResync) => core.subscribeRuns(onChange, onResync),
    async followLogActivity(onRun) {
      const listener = await core.connection.sql.listen(LOG_CHANNEL, (payload) => {
        const runId = loggedRunId(payload);
        if (runId) onRun(runId);
      });
      return () => listener.unlisten();
    },
    ping: (timeoutMs) => core.ping(timeoutMs),
    async metrics() {
      const endpoint = metricsEndpoint(core.connection.sql);
      return { contentType: endpoint.contentType, text: await endpoint.text() };
    },
    setGroupMembership: (groups) => core.setGroupMembership(groups),
    accounts: {
      approveLogin: accounts.approveLogin,
      listTokens: accounts.listTokens,
      revokeTokens: accounts.revokeTokens,
    },
    jobs: {
      createQueue: (name, options) => boss.createQueue(name, options),
      send: (name, data, options) => boss.send(name, data, options),
      work: (name, options, handler) =>
        boss.work(name, options, (jobs) => handler(jobs.map((job) => ({ data: job.data })))),
      offWork: (name, id) => boss.offWork(name, { id, wait: true }),
    },
    store: core.db,
  };
}
