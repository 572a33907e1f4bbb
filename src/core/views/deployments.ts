// Deployments as every front end lists them: their variables (no sensitive
// default), usage, and what runs now (active, queued, awaiting a person).

import type { Actor, DeploymentView } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { deploymentHolds } from '../policy/holds-view.ts';
import type { Db } from '../store/database.ts';
import { locksInForce } from '../store/locks.ts';
import { deploymentActivity } from '../store/runs.ts';
import { usageOf } from '../variables/validate.ts';
import { loadRunViews } from './runs.ts';

/** The deployments a person may run here (the channel rule applies for Slack), as views. */
export async function deploymentViews(
  db: Db,
  deployments: readonly Deployment[],
  actor: Actor | undefined,
): Promise<DeploymentView[]> {
  const all = deployments.filter(
    (d) =>
      actor?.via !== 'slack' ||
      !d.channels ||
      (actor.channel !== undefined && d.channels.includes(actor.channel)),
  );
  const names = all.map((d) => d.name);
  const [{ counts, active }, locks] = await Promise.all([
    deploymentActivity(db, names),
    locksInForce(db),
  ]);
  const activeViews = await loadRunViews(db, active);
  const now = new Date();
  return all.map((d) => {
    const count = (status: string) =>
      counts
        .filter((c) => c.deployment === d.name && c.status === status)
        .reduce((n, c) => n + c.n, 0);
    return {
      name: d.name,
      environment: d.environment,
      description: d.description,
      approvers: d.approvers,
      channels: d.channels ?? null,
      variables: Object.fromEntries(
        Object.entries(d.variables).map(([name, spec]) => [
          name,
          {
            type: spec.type,
            required: spec.required,
            sensitive: spec.sensitive,
            default: spec.sensitive ? undefined : spec.default,
            options: spec.type === 'select' ? spec.options : undefined,
            description: spec.description,
          },
        ]),
      ),
      usage: usageOf(d),
      hasDestroy: d.executor.kind === 'terraform' || d.executor.destroy !== undefined,
      state: {
        active: activeViews.find((v) => v.deployment === d.name) ?? null,
        queued: count('queued'),
        awaiting: count('awaiting_plan_approval') + count('awaiting_apply_approval'),
        ...deploymentHolds(d, locks, now),
      },
    };
  });
}
