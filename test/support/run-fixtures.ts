// RunView fixtures for rendering tests: complete, plausible runs in any status.

import type {
  ApprovalView,
  PlannedChange,
  PlanView,
  PolicyView,
  RunView,
} from '../../src/core/api/types.ts';
import { type RunStatus, STATUS_TABLE } from '../../src/core/lifecycle/statuses.ts';
import { type ApprovalPolicy, policyStages } from '../../src/core/policy/evaluate.ts';
import { NO_RULES } from '../../src/core/policy/rules.ts';

export const MASK = '••••••';

export function makePlan(overrides: Partial<PlanView> = {}): PlanView {
  const changes: PlannedChange[] = [
    { address: 'aws_instance.web[0]', action: 'create' },
    { address: 'aws_instance.web[1]', action: 'create' },
    { address: 'aws_security_group.web', action: 'update' },
    { address: 'aws_lb_target_group.old', action: 'delete' },
  ];
  return {
    id: 'plan-7f3a',
    known: true,
    add: 2,
    change: 1,
    destroy: 1,
    changes,
    artifactHash: 'sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
    createdAt: '2024-05-01T12:01:00.000Z',
    ...overrides,
  };
}

/** `n` planned changes cycling through the actions, with counts to match. */
export function makeBigPlan(n: number, addressLength = 60): PlanView {
  const actions = ['create', 'update', 'delete', 'replace'] as const;
  const changes: PlannedChange[] = [];
  for (let i = 0; i < n; i++) {
    const base = `module.cluster.aws_instance.node["${i}"]`;
    changes.push({ address: base.padEnd(addressLength, 'x'), action: actions[i % 4]! });
  }
  const count = (a: string) => changes.filter((c) => c.action === a).length;
  return makePlan({
    changes,
    add: count('create') + count('replace'),
    change: count('update'),
    destroy: count('delete') + count('replace'),
  });
}

/** The one-approval default policy (approvers U0APPROVER, S0OPS) with these approvals. */
export function fixturePolicy(
  approvals: readonly ApprovalView[],
  policy: ApprovalPolicy = { approvers: ['U0APPROVER', 'S0OPS'], allowSelfApproval: false },
): PolicyView {
  const stored = approvals.map((a) => ({ stage: a.stage, actor: a.by, entry: a.entry ?? null }));
  return { ...policyStages(policy, stored, NO_RULES), rules: [], freeze: null, locks: [] };
}

const PHASE_OF_FAILURE: Partial<Record<RunStatus, RunView['failedPhase']>> = {
  failed: 'execute',
  rolled_back: 'verify',
  rollback_failed: 'rollback',
};

/** A complete RunView; `overrides` replace top-level fields. */
export function makeRun(overrides: Partial<RunView> = {}): RunView {
  const status: RunStatus = overrides.status ?? 'awaiting_plan_approval';
  const kind = overrides.kind ?? 'execute';
  const terminal = STATUS_TABLE[status].next.length === 0;
  const base: RunView = {
    id: 'run-01HX7Q',
    deployment: 'web-prod',
    environment: 'production',
    kind,
    status,
    statusLabel: STATUS_TABLE[status].label,
    currentPhase: STATUS_TABLE[status].phase,
    failedPhase: PHASE_OF_FAILURE[status] ?? null,
    sourceSummary: {
      kind: 'git-repository',
      gitRef: 'main',
      commit: '3f9c2ab71d0e4c5b8a6f7e8d9c0b1a2f3e4d5c6b',
      baseDirectory: 'infra/web',
      location: 'https://github.com/example/infra.git',
    },
    variables: { image_tag: '1.4.2', replicas: 3, debug: false, db_password: MASK },
    variableSources: {
      image_tag: { from: 'typed' },
      replicas: { from: 'typed' },
      debug: { from: 'default' },
      db_password: { from: 'default' },
    },
    plan: ['queued', 'pending', 'initializing', 'planning'].includes(status) ? null : makePlan(),
    approvals: [],
    policy: null,
    outputs:
      status === 'completed'
        ? { url: 'https://web.example.com', instance_ids: ['i-1', 'i-2'] }
        : null,
    error: null,
    recoveryHint: null,
    cancel: null,
    requestedBy: 'U012ABCDEF',
    requestedVia: 'slack',
    channel: 'C0DEPLOYS',
    queue: status === 'queued' ? { behind: 'run-01HX70', position: 1 } : null,
    createdAt: '2024-05-01T12:00:00.000Z',
    updatedAt: '2024-05-01T12:05:00.000Z',
    finishedAt: terminal ? '2024-05-01T12:05:00.000Z' : null,
    durationSeconds: 300,
    version: 7,
    configVersion: 'c0ffee'.repeat(10).slice(0, 64),
  };
  const approvals: ApprovalView[] = [];
  const afterPlanApproval: RunStatus[] = [
    'awaiting_apply_approval',
    'applying',
    'destroying',
    'verifying',
    'rolling_back',
    'completed',
    'destroyed',
    'rolled_back',
    'rollback_failed',
  ];
  if (afterPlanApproval.includes(status)) {
    approvals.push({
      stage: 'plan',
      by: 'U0APPROVER',
      via: 'slack',
      at: '2024-05-01T12:02:00.000Z',
      planId: 'plan-7f3a',
      entry: 0,
    });
    if (status !== 'awaiting_apply_approval') {
      approvals.push({
        stage: 'apply',
        by: 'U0APPROVER',
        via: 'slack',
        at: '2024-05-01T12:03:00.000Z',
        planId: 'plan-7f3a',
        entry: 0,
      });
    }
  }
  const failed = status === 'failed' || status === 'rolled_back' || status === 'rollback_failed';
  const extras: Partial<RunView> = {
    approvals,
    policy: fixturePolicy(approvals),
    ...(failed
      ? {
          error:
            'Error: creating EC2 Instance: UnauthorizedOperation: You are not authorized to perform this operation.',
          recoveryHint: {
            text: 'Inspect the server, credentials, build and runtime logs, then run again.',
            steps: [
              { kind: 'see_logs', runId: base.id },
              { kind: 'run_again', deployment: base.deployment, runKind: base.kind },
            ],
          },
        }
      : {}),
    ...(status === 'cancelled' ? { cancel: { by: 'U0CANCELER', reason: 'wrong image tag' } } : {}),
  };
  return { ...base, ...extras, ...overrides };
}
