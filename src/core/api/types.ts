// The core API's public shapes: what `deploy-bot status --json` prints, what the
// Slack bot renders and what deploy-tui shows. Front ends depend on these only.

import type { Decision } from '../lifecycle/decisions.ts';
import type { Phase, RunKind, RunStatus } from '../lifecycle/statuses.ts';
import type { StageView } from '../policy/evaluate.ts';
import type { RuleResult } from '../policy/rules.ts';

/** Where a person acted from. */
export const VIAS = ['slack', 'cli', 'tui', 'api', 'system'] as const;
export type Via = (typeof VIAS)[number];

export type Actor = {
  /** A Slack user id (U…/W…) or, for the system, "system". */
  readonly id: string;
  readonly via: Via;
  /** The Slack channel the action came from, when it matters for the channel rule. */
  readonly channel?: string | undefined;
  /**
   * How the actor proved who they are, recorded in the audit: `token "NAME"`
   * (the API), or `--as (OS user alice)` (an administrator with database access).
   */
  readonly credential?: string | undefined;
};

export const CHANGE_ACTIONS = ['create', 'update', 'delete', 'replace'] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];
export type PlannedChange = { readonly address: string; readonly action: ChangeAction };

export type PlanView = {
  readonly id: string;
  /** False when the plan step wrote no changes document: counts are unknown. */
  readonly known: boolean;
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
  readonly changes: readonly PlannedChange[];
  readonly artifactHash: string;
  readonly createdAt: string;
};

export type ApprovalStage = 'plan' | 'apply';
export type ApprovalView = {
  readonly stage: ApprovalStage;
  readonly by: string;
  readonly via: Via;
  readonly at: string;
  readonly planId: string;
  /** What the approver wrote with the approval, or null. */
  readonly note?: string | null;
  /** The requirement entry of the stage it counted for (index into policy.plan/apply.entries), or null. */
  readonly entry?: number | null;
  /** An apply confirmed during a freeze: the reason given for overriding it, or null. */
  readonly overrideReason?: string | null;
};

/** What an ad hoc lock holds: one deployment, one environment, or all. */
export type LockScope = 'deployment' | 'environment' | 'all';
/** `NAME`, `env:ENV` or `all` as typed; target null for all. */
export type LockTarget = { readonly scope: LockScope; readonly target: string | null };

export type LockView = {
  readonly id: string;
  readonly scope: LockScope;
  /** The deployment or environment; null for all. */
  readonly target: string | null;
  readonly reason: string;
  readonly by: string;
  readonly via: Via;
  readonly at: string;
};

/** A freeze window in force for a run (or one its apply overrode). */
export type FreezeView = {
  readonly reason: string;
  /** When deploys are possible again (ISO). */
  readonly endsAt: string;
  /** Who may confirm the apply anyway, with a written reason (empty: nobody). */
  readonly overrideFrom: readonly string[];
  /** The apply was confirmed during the freeze: by whom, why, when. */
  readonly overridden: {
    readonly by: string;
    readonly reason: string;
    readonly at: string;
  } | null;
  /**
   * Whether the person the run was read for may override it (then
   * `confirm_apply` stays in `allowed`, and a reason is required). Absent when
   * the run was read for nobody.
   */
  readonly canOverride?: boolean;
};

/** What holds a run's apply back: a freeze window and ad hoc locks. */
export type HoldsView = {
  /** The freeze in force for the run (or overridden by its apply), else null. */
  readonly freeze: FreezeView | null;
  /** The locks holding the run (empty once it applied or finished). */
  readonly locks: readonly LockView[];
};

/** The policy's state for a run: each decision's requirements, matched rules, freezes and locks. */
export type PolicyView = HoldsView & {
  readonly plan: StageView;
  readonly apply: StageView;
  readonly rules: readonly RuleResult[];
};

export type SourceSummary = {
  readonly kind: 'directory' | 'git-repository';
  /** The ref asked for (git), null for a directory. */
  readonly gitRef: string | null;
  /** The commit the ref resolved to at detect, so every step uses the same code. */
  readonly commit: string | null;
  readonly baseDirectory: string | null;
  /** The directory path or the repository URL. */
  readonly location: string;
};

/**
 * Where a run's variable value came from: typed with the request, the config's
 * default, or (a destroy) the deployment's last completed execute run.
 */
export type VariableSource =
  | { readonly from: 'typed' }
  | { readonly from: 'default' }
  | { readonly from: 'last_execute'; readonly runId: string };

/**
 * One thing a person can do about a failed run, as data: each front end says
 * it in its own words (the CLI a command, Slack a button or `/deploy logs`,
 * deploy-tui a key).
 */
export type RecoveryStep =
  /** Read the run's log: the step's own output says more than the error. */
  | { readonly kind: 'see_logs'; readonly runId: string }
  /** Keep the whole log before anything else (a person will restore by hand). */
  | { readonly kind: 'save_logs'; readonly runId: string }
  /** Request the deployment again (a new run, its own plan and both approvals). */
  | { readonly kind: 'run_again'; readonly deployment: string; readonly runKind: RunKind };

/** What to do about a failed run: a sentence no front end owns, and its steps as data. */
export type RecoveryHint = {
  /** Made concrete by the cause ("plan step ./plan.sh exited with code 3: read its log, then …"). */
  readonly text: string;
  readonly steps: readonly RecoveryStep[];
};

export type RunView = {
  readonly id: string;
  readonly deployment: string;
  readonly environment: string;
  readonly kind: RunKind;
  readonly status: RunStatus;
  readonly statusLabel: string;
  readonly currentPhase: Phase | null;
  readonly failedPhase: Phase | null;
  readonly sourceSummary: SourceSummary;
  /** Sensitive values are replaced by "••••••". */
  readonly variables: Readonly<Record<string, string | number | boolean>>;
  /** Where each of `variables` came from. */
  readonly variableSources: Readonly<Record<string, VariableSource>>;
  readonly plan: PlanView | null;
  readonly approvals: readonly ApprovalView[];
  /**
   * The approval policy's state: for plan and apply, each requirement entry
   * with who counted for it and how many are still missing; the rules; the
   * holds, `freeze` and `locks` (while either holds the run, `confirm_apply`
   * is not in `allowed`, except for someone who may override the freeze:
   * `freeze.canOverride`). Null when the run's config snapshot cannot give it.
   */
  readonly policy: PolicyView | null;
  readonly outputs: Readonly<Record<string, unknown>> | null;
  readonly error: string | null;
  readonly recoveryHint: RecoveryHint | null;
  readonly cancel: { readonly by: string; readonly reason: string } | null;
  readonly requestedBy: string;
  readonly requestedVia: Via;
  readonly channel: string | null;
  /** For a queued run: the run that holds the slot, and how many are ahead. */
  readonly queue: { readonly behind: string | null; readonly position: number } | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  /** Seconds from request to finish (or to now while running). */
  readonly durationSeconds: number;
  /** Increases on every change of the run. */
  readonly version: number;
  /**
   * The server's published config version (sha256 of the config) the run was
   * requested under; its deployment policy and steps come from it. Null for
   * runs older than config versions.
   */
  readonly configVersion: string | null;
  /**
   * The decisions the person who asked may take now (approve_plan,
   * confirm_apply, cancel): the status table and the policy, checked as the
   * core checks a decision. Present when the run was read for someone (a
   * signed-in client, `--as`); absent in lists and for anonymous reads.
   */
  readonly allowed?: readonly Decision[];
};

export type TransitionView = {
  readonly from: RunStatus | null;
  readonly to: RunStatus;
  readonly actor: string;
  readonly via: Via;
  readonly reason: string | null;
  /** How the actor proved who they are (`token "NAME"`, `--as (OS user …)`); null from Slack and the system. */
  readonly credential: string | null;
  readonly at: string;
};

/**
 * One evaluation of a run's rules, as the audit keeps it: when the plan became
 * ready and at each decision (refused or not), for deployments with rules.
 */
export type PolicyEvaluationView = {
  readonly moment: 'plan_ready' | 'approve_plan' | 'confirm_apply';
  /** Who decided; null when the plan became ready. */
  readonly actor: string | null;
  readonly via: Via | null;
  /** The config version whose rules were evaluated (the run's). */
  readonly configVersion: string | null;
  /** allowed, denied (an enforce rule said no) or failed (an enforce rule's condition failed). */
  readonly result: 'allowed' | 'denied' | 'failed';
  /** How many rules were evaluated. */
  readonly evaluated: number;
  /** The rules that matched or failed, with their mode and effect. */
  readonly rules: readonly RuleResult[];
  readonly at: string;
};

export type LogLine = {
  /** Increasing across all runs: a follower resumes after the last id it saw. */
  readonly id: number;
  readonly runId: string;
  readonly phase: string;
  readonly stream: 'stdout' | 'stderr' | 'system';
  readonly line: string;
  readonly at: string;
};

export type RunFilter = {
  readonly deployment?: string | undefined;
  readonly environment?: string | undefined;
  readonly statuses?: readonly RunStatus[] | undefined;
  /** Runs requested by this user id. */
  readonly requestedBy?: string | undefined;
  readonly limit?: number | undefined;
  /** Only runs requested before this run (the next page of a newest-first list). */
  readonly before?: string | undefined;
};

export type DeploymentView = {
  readonly name: string;
  readonly environment: string;
  readonly description: string;
  readonly approvers: readonly string[];
  readonly channels: readonly string[] | null;
  readonly variables: Readonly<
    Record<
      string,
      {
        readonly type: 'string' | 'number' | 'boolean' | 'select';
        readonly required: boolean;
        readonly sensitive: boolean;
        readonly default?: string | number | boolean | undefined;
        readonly options?: readonly string[] | undefined;
        readonly description?: string | undefined;
      }
    >
  >;
  readonly usage: string;
  readonly hasDestroy: boolean;
  /** The run holding the slot, and how many wait for it. */
  readonly state: {
    readonly active: RunView | null;
    readonly queued: number;
    readonly awaiting: number;
    /** The freeze window in force now (its runs may plan, not apply), or null. */
    readonly freeze: { readonly reason: string; readonly endsAt: string } | null;
    /** The locks in force that hold it. */
    readonly locks: readonly LockView[];
  };
};

/** Checks whether a user belongs to a Slack user group; the bot provides one. */
export type GroupMembership = {
  isMember(userId: string, groupId: string): Promise<boolean>;
};

export type Unsubscribe = () => Promise<void>;
