// An approval that waited longer than the deployment's approvalTimeout: the run
// is cancelled ("approval expired"). The worker's sweep does it every second,
// and approve and apply do it themselves when they decide past the deadline,
// so that no approval counts late, with or without a worker running.

import { formatSettingDuration } from '../config/duration.ts';
import type { Deployment } from '../config/load.ts';
import type { Queue } from '../queue/boss.ts';
import type { Tx } from '../store/database.ts';
import type { RunRow } from '../store/runs.ts';
import { transition } from '../store/transition.ts';
import { SYSTEM_ACTOR } from '../text/plan.ts';

/** The run's approval timeout as people read it ("10s", "1h"). */
export function approvalTimeoutText(run: RunRow): string {
  return formatSettingDuration((run.config as Deployment).approvalTimeout);
}

/** Cancels a run whose approval expired, in the caller's transaction (the row locked by it). */
export async function expireApproval(tx: Tx, queue: Queue, run: RunRow): Promise<void> {
  const timeout = approvalTimeoutText(run);
  await transition(tx, queue, {
    runId: run.id,
    kind: run.kind,
    from: run.status,
    to: 'cancelled',
    actor: SYSTEM_ACTOR,
    reason: `approval expired: nobody approved within ${timeout}`,
    patch: {
      cancelledBy: SYSTEM_ACTOR.id,
      cancelReason: `approval expired (waited longer than ${timeout})`,
    },
  });
}
