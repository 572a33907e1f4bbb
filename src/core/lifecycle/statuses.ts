// The run lifecycle as data: one list of statuses, one table of transitions.
// Everything else (terminal, slot-holding, cancellable, phase) is derived here
// so that the engine, the database index and the front ends never disagree.

export const RUN_STATUSES = [
  'queued',
  'pending',
  'initializing',
  'planning',
  'awaiting_plan_approval',
  'awaiting_apply_approval',
  'applying',
  'destroying',
  'verifying',
  'rolling_back',
  'completed',
  'destroyed',
  'no_changes',
  'failed',
  'cancelled',
  'rolled_back',
  'rollback_failed',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_KINDS = ['execute', 'destroy'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const PHASES = ['detect', 'plan', 'execute', 'verify', 'rollback'] as const;
export type Phase = (typeof PHASES)[number];

type StatusInfo = {
  /** Statuses this one may move to. */
  readonly next: readonly RunStatus[];
  /** The lifecycle phase a run in this status is in (null: not started or finished). */
  readonly phase: Phase | null;
  /** Only runs of this kind may enter the status. */
  readonly kind?: RunKind;
  /** A person may cancel the run in this status. */
  readonly cancellable: boolean;
  /** A worker process is (or should be) executing a step for the run. */
  readonly working: boolean;
  readonly label: string;
  readonly symbol: string;
  /** What the status asks of a person. */
  readonly action: string;
};

const FAIL: RunStatus = 'failed';
const CANCEL: RunStatus = 'cancelled';

export const STATUS_TABLE: { readonly [S in RunStatus]: StatusInfo } = {
  queued: {
    next: ['pending', CANCEL],
    phase: null,
    cancellable: true,
    working: false,
    label: 'Queued',
    symbol: '…',
    action: 'wait for the run ahead of it',
  },
  pending: {
    next: ['initializing', CANCEL, FAIL],
    phase: 'detect',
    cancellable: true,
    working: true,
    label: 'Pending',
    symbol: '◌',
    action: 'wait',
  },
  initializing: {
    next: ['planning', CANCEL, FAIL],
    phase: 'detect',
    cancellable: true,
    working: true,
    label: 'Initializing',
    symbol: '◌',
    action: 'wait',
  },
  planning: {
    next: ['awaiting_plan_approval', 'no_changes', CANCEL, FAIL],
    phase: 'plan',
    cancellable: true,
    working: true,
    label: 'Planning',
    symbol: '◐',
    action: 'wait',
  },
  awaiting_plan_approval: {
    next: ['awaiting_apply_approval', CANCEL, FAIL],
    phase: 'plan',
    cancellable: true,
    working: false,
    label: 'Awaiting plan approval',
    symbol: '⏸',
    action: 'review the plan, then approve or cancel',
  },
  awaiting_apply_approval: {
    next: ['applying', 'destroying', CANCEL, FAIL],
    phase: 'plan',
    cancellable: true,
    working: false,
    label: 'Awaiting apply approval',
    symbol: '⏸',
    action: 'confirm the apply, or cancel',
  },
  applying: {
    next: ['verifying', 'completed', FAIL],
    phase: 'execute',
    kind: 'execute',
    cancellable: false,
    working: true,
    label: 'Applying',
    symbol: '▶',
    action: 'wait',
  },
  destroying: {
    next: ['destroyed', FAIL],
    phase: 'execute',
    kind: 'destroy',
    cancellable: false,
    working: true,
    label: 'Destroying',
    symbol: '▶',
    action: 'wait',
  },
  verifying: {
    next: ['completed', 'rolling_back', FAIL],
    phase: 'verify',
    kind: 'execute',
    cancellable: false,
    working: true,
    label: 'Verifying',
    symbol: '◐',
    action: 'wait',
  },
  rolling_back: {
    next: ['rolled_back', 'rollback_failed'],
    phase: 'rollback',
    kind: 'execute',
    cancellable: false,
    working: true,
    label: 'Rolling back',
    symbol: '↺',
    action: 'wait',
  },
  completed: {
    next: [],
    phase: null,
    kind: 'execute',
    cancellable: false,
    working: false,
    label: 'Completed',
    symbol: '✓',
    action: 'none',
  },
  destroyed: {
    next: [],
    phase: null,
    kind: 'destroy',
    cancellable: false,
    working: false,
    label: 'Destroyed',
    symbol: '✓',
    action: 'none',
  },
  no_changes: {
    next: [],
    phase: null,
    cancellable: false,
    working: false,
    label: 'No changes',
    symbol: '=',
    action: 'none',
  },
  failed: {
    next: [],
    phase: null,
    cancellable: false,
    working: false,
    label: 'Failed',
    symbol: '✗',
    action: 'read the error and log, fix, run again',
  },
  cancelled: {
    next: [],
    phase: null,
    cancellable: false,
    working: false,
    label: 'Cancelled',
    symbol: '⊘',
    action: 'none',
  },
  rolled_back: {
    next: [],
    phase: null,
    kind: 'execute',
    cancellable: false,
    working: false,
    label: 'Rolled back (failed, recovered)',
    symbol: '↺',
    action: 'read why verify failed, fix, run again',
  },
  rollback_failed: {
    next: [],
    phase: null,
    kind: 'execute',
    cancellable: false,
    working: false,
    label: 'Rollback failed: manual intervention needed',
    symbol: '‼',
    action: 'intervene by hand; save the diagnostics first',
  },
};

export const TERMINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter(
  (s) => STATUS_TABLE[s].next.length === 0,
);
export const WORKING_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter(
  (s) => STATUS_TABLE[s].working,
);
/**
 * Statuses that hold the deployment's single slot: a run works on a deployment
 * (detects, plans, applies, verifies, rolls back) only while it holds the slot.
 * A run waiting for a person does not hold it, so a forgotten approval never
 * blocks the team; the first run to apply supersedes the other waiting plans.
 */
export const SLOT_STATUSES: readonly RunStatus[] = WORKING_STATUSES;
export const AWAITING_APPROVAL_STATUSES: readonly RunStatus[] = [
  'awaiting_plan_approval',
  'awaiting_apply_approval',
];
/** Statuses with the apply still ahead: queued, detecting, planning, waiting for a decision. */
export const BEFORE_APPLY_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter((s) => {
  const { phase, next } = STATUS_TABLE[s];
  return next.length > 0 && (phase === null || phase === 'detect' || phase === 'plan');
});
/** Terminal statuses that mean the change did what was asked. */
export const SUCCESS_STATUSES: readonly RunStatus[] = ['completed', 'destroyed', 'no_changes'];

export function isTerminal(status: RunStatus): boolean {
  return STATUS_TABLE[status].next.length === 0;
}

export function isRunStatus(value: string): value is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(value);
}

export function phaseOf(status: RunStatus): Phase | null {
  return STATUS_TABLE[status].phase;
}

export type TransitionDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: string };

/** Pure: may a run of `kind` move from `from` to `to`? */
export function decideTransition(
  kind: RunKind,
  from: RunStatus,
  to: RunStatus,
): TransitionDecision {
  const info = STATUS_TABLE[from];
  if (!info.next.includes(to)) {
    return {
      ok: false,
      reason: isTerminal(from)
        ? `the run is already ${STATUS_TABLE[from].label.toLowerCase()}`
        : `a run cannot go from ${from} to ${to}`,
    };
  }
  const onlyFor = STATUS_TABLE[to].kind;
  if (onlyFor !== undefined && onlyFor !== kind) {
    return { ok: false, reason: `${to} is only for ${onlyFor} runs, this is a ${kind} run` };
  }
  return { ok: true };
}

/** The terminal success status a run of this kind reaches after its change step. */
export function changeStatusFor(kind: RunKind): 'applying' | 'destroying' {
  switch (kind) {
    case 'execute':
      return 'applying';
    case 'destroy':
      return 'destroying';
    default:
      return assertNever(kind);
  }
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${String(value)}`);
}

/** Statuses grouped for filters in the front ends. */
export const STATUS_GROUPS = {
  active: RUN_STATUSES.filter((s) => !isTerminal(s)),
  awaiting_approval: AWAITING_APPROVAL_STATUSES,
  failed: ['failed', 'rolled_back', 'rollback_failed'] as readonly RunStatus[],
  all: RUN_STATUSES,
} as const;
export type StatusGroup = keyof typeof STATUS_GROUPS;
