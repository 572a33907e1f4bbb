import type {
  ApprovalStage,
  LockScope,
  PlannedChange,
  SourceSummary,
  VariableSource,
  Via,
} from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import type { PlanBinding } from '../engine/binding.ts';
import {
  type Phase,
  RUN_KINDS,
  RUN_STATUSES,
  type RunStatus,
  SLOT_STATUSES,
  STATUS_GROUPS,
} from '../lifecycle/statuses.ts';
import type { RuleResult } from '../policy/rules.ts';
import { pgCore, sql } from './orm.ts';

const {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} = pgCore;

const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

const tz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const inList = (values: readonly string[]) => sql.raw(values.map((v) => `'${v}'`).join(', '));

export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    /** Arrival order: queued runs start first in, first out. */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    deployment: text('deployment').notNull(),
    environment: text('environment').notNull(),
    // Typed from the lifecycle's lists (the check constraints below keep the database to them).
    kind: text('kind', { enum: RUN_KINDS }).notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull(),
    requestedBy: text('requested_by').notNull(),
    requestedVia: text('requested_via').$type<Via>().notNull(),
    /** Where the request came from (a Slack channel id), when it matters for policy. */
    channel: text('channel'),
    variables: jsonb('variables').$type<Record<string, string | number | boolean>>().notNull(),
    /** Sensitive values: handed to steps, never returned by the API. */
    secretVariables: jsonb('secret_variables')
      .$type<Record<string, string | number | boolean>>()
      .notNull(),
    /** Where each variable's value came from: typed, the config's default, or an earlier run. */
    variableSources: jsonb('variable_sources')
      .$type<Record<string, VariableSource>>()
      .notNull()
      .default(sql`'{}'::jsonb`),
    source: jsonb('source').$type<SourceSummary>().notNull(),
    /** The deployment's config as it was when the run was requested: every step uses it. */
    config: jsonb('config').$type<Deployment>().notNull(),
    /** The published config version (content hash) the run was requested under. */
    configVersion: text('config_version'),
    /** Digest of the source the plan saw (directory contents or git commit). */
    sourceDigest: text('source_digest'),
    planId: text('plan_id'),
    failedPhase: text('failed_phase').$type<Phase>(),
    error: text('error'),
    recoveryHint: text('recovery_hint'),
    outputs: jsonb('outputs').$type<Record<string, unknown>>(),
    cancelledBy: text('cancelled_by'),
    cancelReason: text('cancel_reason'),
    /** The worker executing the current step; null while the step waits for one. */
    workerId: text('worker_id'),
    heartbeatAt: tz('heartbeat_at'),
    /** Process id of the running step's process group, to stop it after a worker dies. */
    stepPid: integer('step_pid'),
    /** How many times the current read-only step was started (crash retries). */
    stepAttempt: integer('step_attempt').notNull().default(0),
    statusSince: tz('status_since').notNull().defaultNow(),
    createdAt: tz('created_at').notNull().defaultNow(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
    finishedAt: tz('finished_at'),
    /** When retention removed the run's log lines (null: the log is whole). */
    logsPrunedAt: tz('logs_pruned_at'),
    /** When retention removed the run's plan artifacts (null: kept). */
    artifactsPrunedAt: tz('artifacts_pruned_at'),
    /** When retention removed the run's audit trail (null: whole). */
    auditPrunedAt: tz('audit_pruned_at'),
    /** Bumped on every change: front ends render a run when their copy is older. */
    version: integer('version').notNull().default(1),
  },
  (t) => [
    check('runs_status_valid', sql`${t.status} in (${inList(RUN_STATUSES)})`),
    check('runs_kind_valid', sql`${t.kind} in (${inList(RUN_KINDS)})`),
    uniqueIndex('runs_one_active_per_deployment')
      .on(t.deployment)
      .where(sql`${t.status} in (${inList(SLOT_STATUSES)})`),
    index('runs_queue').on(t.deployment, t.seq).where(sql`${t.status} = 'queued'`),
    index('runs_created').on(t.createdAt),
    index('runs_status').on(t.status),
    // A year of history: each list filter reads its first page from an index in order.
    index('runs_seq').on(t.seq),
    index('runs_deployment_seq').on(t.deployment, t.seq),
    index('runs_status_seq').on(t.status, t.seq),
    index('runs_requested_by_seq').on(t.requestedBy, t.seq),
    // deploy-tui's frame filtered by deployment and a status group (a bitmap AND of
    // the two indexes above read 130,000 failed runs of all deployments: 110 ms).
    index('runs_deployment_status_seq').on(t.deployment, t.status, t.seq),
    // The failed group (several statuses) in seq order, for all deployments and for
    // one: its first page is read in order and the read stops there, however many
    // failed runs a year holds (listRunPage reads the page's seqs from these).
    index('runs_failed_seq')
      .on(t.seq)
      .where(sql`${t.status} in (${inList(STATUS_GROUPS.failed)})`),
    index('runs_failed_deployment_seq')
      .on(t.deployment, t.seq)
      .where(sql`${t.status} in (${inList(STATUS_GROUPS.failed)})`),
    // Retention finds what is due without reading what it already pruned.
    index('runs_logs_prunable')
      .on(t.finishedAt)
      .where(sql`${t.finishedAt} is not null and ${t.logsPrunedAt} is null`),
    index('runs_artifacts_prunable')
      .on(t.finishedAt)
      .where(sql`${t.finishedAt} is not null and ${t.artifactsPrunedAt} is null`),
    index('runs_audit_prunable')
      .on(t.finishedAt)
      .where(sql`${t.finishedAt} is not null and ${t.auditPrunedAt} is null`),
    // retention.runs: finished runs by their end, oldest first.
    index('runs_finished').on(t.finishedAt).where(sql`${t.finishedAt} is not null`),
    index('runs_last_completed')
      .on(t.deployment, t.finishedAt)
      .where(sql`${t.status} = 'completed'`),
  ],
);

export const plans = pgTable(
  'plans',
  {
    id: text('id').primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** False when the plan step wrote no changes document: counts are unknown. */
    known: boolean('known').notNull(),
    add: integer('add').notNull(),
    change: integer('change').notNull(),
    destroy: integer('destroy').notNull(),
    changes: jsonb('changes').$type<PlannedChange[]>().notNull(),
    /** The plan as a person reads it (the plan step's output, redacted). */
    text: text('text').notNull(),
    artifactHash: text('artifact_hash').notNull(),
    /** What artifact_hash covers, part by part (source, artifacts, config, executor binary). */
    binding: jsonb('binding').$type<PlanBinding>(),
    /**
     * The run's rules evaluated when the plan became ready (null: its
     * deployment had none): how many. The audit shows it as "plan ready";
     * decisions take from it the answer of every rule that reads only the run
     * and its plan, and evaluate the rest (those reading now or approvals).
     */
    rulesEvaluated: integer('rules_evaluated'),
    /** The rules that matched or failed at that evaluation, with mode and effect. */
    rulesMatched: jsonb('rules_matched').$type<RuleResult[]>(),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [index('plans_run').on(t.runId)],
);

export const planArtifacts = pgTable(
  'plan_artifacts',
  {
    planId: text('plan_id')
      .notNull()
      .references(() => plans.id, { onDelete: 'cascade' }),
    path: text('path').notNull(),
    mode: integer('mode').notNull(),
    content: bytea('content').notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.path] })],
);

export const approvals = pgTable(
  'approvals',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    stage: text('stage').$type<ApprovalStage>().notNull(),
    planId: text('plan_id').notNull(),
    artifactHash: text('artifact_hash').notNull(),
    actor: text('actor').notNull(),
    via: text('via').$type<Via>().notNull(),
    /** What the approver wrote with the approval ("Approve with a note"), if anything. */
    note: text('note'),
    /** Which requirement entry of the stage the approval counted for (index), null when none. */
    entry: integer('entry'),
    /** The written reason of an approval that overrode a freeze, if any. */
    overrideReason: text('override_reason'),
    /**
     * The run's rules evaluated at this decision (null: its deployment had
     * none): how many. A decision the rules allowed keeps its evaluation here,
     * on the row it writes anyway; a refused one has a policy_evaluations row.
     */
    rulesEvaluated: integer('rules_evaluated'),
    /**
     * The rules that matched or failed at that evaluation, with mode and
     * effect: of those the decision evaluated itself when rules_from_plan.
     */
    rulesMatched: jsonb('rules_matched').$type<RuleResult[]>(),
    /**
     * The decision took the answer of every rule that reads only the run and
     * its plan from the plan's verdict (plans.rules_matched of plan_id), and
     * evaluated the others (those reading now or approvals): rules_matched
     * keeps only those, so an approval's row stays small.
     */
    rulesFromPlan: boolean('rules_from_plan'),
    /**
     * When: the decision's transaction time, the time its status change (if
     * any) carries, so the audit lists the evaluation before that change.
     * created_at is the insert's own time, which orders approvals.
     */
    rulesAt: tz('rules_at'),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  // One approval per person and stage; a stage may need several people.
  (t) => [primaryKey({ columns: [t.runId, t.stage, t.actor] })],
);

export const runTransitions = pgTable(
  'run_transitions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    fromStatus: text('from_status').$type<RunStatus>(),
    toStatus: text('to_status').$type<RunStatus>().notNull(),
    actor: text('actor').notNull(),
    via: text('via').$type<Via>().notNull(),
    reason: text('reason'),
    /** How the actor proved who they are: `token "NAME"`, or `--as (OS user alice)` for an admin. */
    credential: text('credential'),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [index('run_transitions_run').on(t.runId, t.id)],
);

/**
 * The audit of the policy's rules: each refused decision's evaluation of a
 * run's rules, under which config version, the rules that matched or failed,
 * and the result. An evaluation that allowed a decision is on its approval's
 * row, the plan-ready one on the plan's (each written anyway, so a decision
 * writes no extra row); rows written before migration 0018 hold those too.
 */
export const policyEvaluations = pgTable(
  'policy_evaluations',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    /** plan_ready, approve_plan or confirm_apply. */
    moment: text('moment').notNull(),
    /** Who decided (null when the plan became ready). */
    actor: text('actor'),
    via: text('via'),
    configVersion: text('config_version'),
    /** allowed, denied (an enforce rule said no) or failed (an enforce rule's condition failed). */
    result: text('result').notNull(),
    /** How many rules were evaluated. */
    evaluated: integer('evaluated').notNull(),
    /** The rules that matched or failed, with their mode and effect. */
    rules: jsonb('rules').$type<RuleResult[]>().notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('policy_evaluations_run').on(t.runId, t.id),
    check('policy_evaluations_result_valid', sql`${t.result} in ('allowed', 'denied', 'failed')`),
  ],
);

export const runLogs = pgTable(
  'run_logs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    runId: text('run_id').notNull(),
    phase: text('phase').notNull(),
    stream: text('stream').notNull(),
    line: text('line').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
  },
  (t) => [index('run_logs_run').on(t.runId, t.id)],
);

/** Every config a server process published: immutable, named by its content hash. */
export const configVersions = pgTable('config_versions', {
  /** sha256 of the loaded config (deployments, canonical JSON). */
  hash: text('hash').primaryKey(),
  file: text('file').notNull(),
  deployments: jsonb('deployments').$type<Deployment[]>().notNull(),
  createdAt: tz('created_at').notNull().defaultNow(),
});

/** Each time a serve or worker process published its config; the newest one is current. */
export const configPublications = pgTable('config_publications', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  hash: text('hash')
    .notNull()
    .references(() => configVersions.hash),
  /** The process: its kind and instance id (host/pid/random). */
  publishedBy: text('published_by').notNull(),
  publishedAt: tz('published_at').notNull().defaultNow(),
});

/** API tokens: the secret is shown once and stored only as its sha256. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    /** Public id (`tok_…`): names the token in lists and revocations. */
    id: text('id').primaryKey(),
    /** sha256 (hex) of the secret. */
    hash: text('hash').notNull(),
    /** The identity it acts as: a Slack user id, or `automation:NAME`. */
    userId: text('user_id').notNull(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    /** Who issued it: `slack` (login), or `cli (OS user …)` (token create). */
    issuedBy: text('issued_by').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    expiresAt: tz('expires_at').notNull(),
    lastUsedAt: tz('last_used_at'),
    revokedAt: tz('revoked_at'),
  },
  (t) => [
    uniqueIndex('api_tokens_hash').on(t.hash),
    index('api_tokens_user').on(t.userId),
    check('api_tokens_kind_valid', sql`${t.kind} in ('personal', 'automation')`),
  ],
);

/** Failed authentications per client address, for rate limiting (shared by every serve). */
export const authFailures = pgTable('auth_failures', {
  client: text('client').primaryKey(),
  failures: integer('failures').notNull(),
  windowStart: tz('window_start').notNull().defaultNow(),
});

/**
 * Totals every process reports the same (Prometheus counters that must survive
 * restarts and agree across `serve` and `worker` processes): runs finished by
 * deployment, environment, kind and outcome; decisions by result and code.
 * Rows are bumped in the statement or transaction that makes the event happen.
 */
export const metricTotals = pgTable(
  'metric_totals',
  {
    metric: text('metric').notNull(),
    /** Label values (bounded sets only: never user ids, run ids or variable values). */
    labels: jsonb('labels').$type<Record<string, string>>().notNull(),
    value: bigint('value', { mode: 'number' }).notNull().default(0),
    /** When the total last moved (the last completed run of a deployment, for instance). */
    lastAt: tz('last_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.metric, t.labels] })],
);

/** `deploy-bot login`: a one-time code typed in Slack binds a new token to that Slack user. */
export const loginRequests = pgTable(
  'login_requests',
  {
    id: text('id').primaryKey(),
    /** sha256 of the short code the person types (`/deploy login CODE`). */
    codeHash: text('code_hash').notNull(),
    /** sha256 of the secret only the waiting CLI process knows: it alone collects the token. */
    verifierHash: text('verifier_hash').notNull(),
    /** The client as it described itself (host name), shown in the Slack reply. */
    clientHost: text('client_host').notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    expiresAt: tz('expires_at').notNull(),
    /** Set by the signed `/deploy login CODE`: who signed in. */
    userId: text('user_id'),
    approvedAt: tz('approved_at'),
    collectedAt: tz('collected_at'),
    tokenId: text('token_id'),
  },
  (t) => [uniqueIndex('login_requests_code').on(t.codeHash)],
);

/**
 * Ad hoc locks (`/deploy lock`): while one holds a deployment (by its name, its
 * environment, or all), its runs may plan but no apply or destroy is confirmed.
 * An unlock keeps the row (who locked, who unlocked: the audit); the unique
 * index keeps one lock in force per target.
 */
export const locks = pgTable(
  'locks',
  {
    id: text('id').primaryKey(),
    scope: text('scope').$type<LockScope>().notNull(),
    /** The deployment or environment name; '*' for all. */
    target: text('target').notNull(),
    reason: text('reason').notNull(),
    lockedBy: text('locked_by').notNull(),
    lockedVia: text('locked_via').$type<Via>().notNull(),
    createdAt: tz('created_at').notNull().defaultNow(),
    unlockedBy: text('unlocked_by'),
    unlockedVia: text('unlocked_via').$type<Via>(),
    unlockedAt: tz('unlocked_at'),
  },
  (t) => [
    check('locks_scope_valid', sql`${t.scope} in ('deployment', 'environment', 'all')`),
    uniqueIndex('locks_one_per_target').on(t.scope, t.target).where(sql`${t.unlockedAt} is null`),
  ],
);
