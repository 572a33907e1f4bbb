// The one way a run moves between statuses. A transition is a compare-and-set
// on the status, recorded in the audit trail, announced with NOTIFY, and its
// effects (lifecycle/effects.ts: the follow-up job, superseding stale plans,
// starting the next queued run) happen in the same transaction. The
// database's unique index keeps one run per slot.

import type { Actor } from '../api/types.ts';
import type { Deployment } from '../config/load.ts';
import { type TransitionEffect, transitionEffects } from '../lifecycle/effects.ts';
import {
  decideTransition,
  isTerminal,
  type RunKind,
  type RunStatus,
  STATUS_TABLE,
} from '../lifecycle/statuses.ts';
import { noteRun } from '../logs/logger.ts';
import { outcomeOf, recordTransition } from '../metrics/instruments.ts';
import { finishedTotalSql } from '../metrics/totals.ts';
import type { Queue } from '../queue/boss.ts';
import type { Db, Tx } from './database.ts';
import { and, eq, isNull, sql } from './orm.ts';
import { returningRows } from './rows.ts';
import { notifyRunChanged, RUN_CHANNEL, runChangedPayloadSql } from './run-notifications.ts';
import { getRunRow, type RunRow, runRowFrom } from './runs.ts';
import { runs, runTransitions } from './schema.ts';
import { encryptSecretVariables, sealConfig } from './secrets.ts';
import { lockDeployment, promotion, slotLockOfUpdatedSql, supersededBy } from './slots.ts';

export type TransitionInput = {
  readonly runId: string;
  /** The run's kind (it never changes): decides which moves are allowed. */
  readonly kind: RunKind;
  /** The status the caller saw: the change happens only from it. */
  readonly from: RunStatus;
  readonly to: RunStatus;
  readonly actor: Actor;
  readonly reason?: string | undefined;
  /** Extra columns to set with the status. */
  readonly patch?: Partial<Omit<typeof runs.$inferInsert, 'id' | 'status' | 'version'>>;
  /** The worker continues with the run in the same job (no new job is enqueued). */
  readonly keepWorker?: boolean;
  /**
   * The move also claims the run for this worker, and happens only when no
   * worker has it: a worker's pickup of a pending run is one statement.
   */
  readonly claimFor?: string;
};

export type TransitionOutcome =
  | { readonly ok: true; readonly run: RunRow }
  | { readonly ok: false; readonly run: RunRow | null; readonly reason: string };

/**
 * The compare-and-set, its audit row and its NOTIFY as one statement: the
 * UPDATE matches only while the run is still in `from`, so a concurrent move
 * makes it match nothing (and the caller is told what the run is now).
 */
async function compareAndSet(
  db: Db | Tx,
  input: TransitionInput,
  /** Also take the deployment's slot lock (the move frees the slot). */
  lockSlot = false,
): Promise<TransitionOutcome> {
  const decision = decideTransition(input.kind, input.from, input.to);
  if (!decision.ok) return { ok: false, run: null, reason: decision.reason };
  const update = db
    .update(runs)
    .set({
      ...input.patch,
      status: input.to,
      statusSince: sql`now()`,
      updatedAt: sql`now()`,
      version: sql`${runs.version} + 1`,
      ...(input.claimFor !== undefined
        ? {
            workerId: input.claimFor,
            heartbeatAt: sql`now()`,
            stepAttempt: sql`${runs.stepAttempt} + 1`,
          }
        : input.keepWorker
          ? {}
          : { workerId: null, heartbeatAt: null, stepPid: null, stepAttempt: 0 }),
      ...(isTerminal(input.to) ? { finishedAt: sql`now()` } : {}),
    })
    .where(
      and(
        eq(runs.id, input.runId),
        eq(runs.status, input.from),
        input.claimFor !== undefined ? isNull(runs.workerId) : undefined,
      ),
    );
  // `returning *` rather than drizzle's column list: building that list for
  // thirty columns costs more than the rest of the statement.
  const finished = isTerminal(input.to)
    ? finishedTotalSql(outcomeOf(input.to, input.reason))
    : sql``;
  const rows = await db.execute<Record<string, unknown>>(sql`
    with before as (select status_since from runs where id = ${input.runId}),
    updated as (${update.getSQL()} returning *),${finished}
    audit as (
      insert into run_transitions (run_id, from_status, to_status, actor, via, reason, credential)
      select id, ${input.from}, status, ${input.actor.id}, ${input.actor.via}, ${input.reason ?? null}, ${input.actor.credential ?? null}
      from updated
    )
    select updated.*, pg_notify(${RUN_CHANNEL}, ${runChangedPayloadSql}),
      extract(epoch from now() - (select status_since from before))::float8 as left_status_after
      ${lockSlot ? sql`, ${slotLockOfUpdatedSql}` : sql``}
    from updated`);
  const raw = rows[0];
  if (raw) {
    noteRun({ id: String(raw.id), deployment: String(raw.deployment), status: input.to });
    recordTransition({
      kind: input.kind,
      from: input.from,
      to: input.to,
      seconds: Number(raw.left_status_after),
      reason: input.reason,
    });
    return { ok: true, run: runRowFrom(raw) };
  }
  if (input.claimFor !== undefined)
    return { ok: false, run: null, reason: 'another worker has the run, or it moved on' };
  const current = await getRunRow(db, input.runId);
  if (!current) return { ok: false, run: null, reason: `run ${input.runId} does not exist` };
  const label = STATUS_TABLE[current.status].label.toLowerCase();
  return { ok: false, run: current, reason: `the run is now ${label}` };
}

/** Carries out one effect of a move that happened (the run as it now is). */
async function carryOut(
  tx: Tx,
  queue: Queue,
  effect: TransitionEffect,
  input: TransitionInput,
  moved: RunRow,
): Promise<void> {
  switch (effect) {
    case 'send_step':
      await queue.sendStep(tx, { runId: moved.id, status: input.to, kind: input.kind });
      return;
    case 'supersede_waiting':
      for (const move of await supersededBy(tx, moved)) await transition(tx, queue, move);
      return;
    case 'promote_next':
      // The slot lock was taken with the compare-and-set.
      await promoteNext(tx, queue, moved.deployment, { locked: true });
      return;
  }
}

/**
 * Moves a run from `from` to `to` in the caller's transaction, with what the
 * move implies (its effects). Nothing changes when the run is no longer in
 * `from` (someone else moved it).
 */
export async function transition(
  tx: Tx,
  queue: Queue,
  input: TransitionInput,
): Promise<TransitionOutcome> {
  const effects = transitionEffects(input);
  const outcome = await compareAndSet(tx, input, effects.includes('promote_next'));
  if (!outcome.ok) return outcome;
  for (const effect of effects) await carryOut(tx, queue, effect, input, outcome.run);
  return outcome;
}

/**
 * A transition on its own: one statement when the move has no effects (a
 * worker going from step to step), a transaction when it does.
 */
export async function moveRun(
  db: Db,
  queue: Queue,
  input: TransitionInput,
): Promise<TransitionOutcome> {
  if (transitionEffects(input).length === 0) return compareAndSet(db, input);
  return db.transaction((tx) => transition(tx, queue, input));
}

/** Starts the oldest queued run of the deployment when its slot is free. */
export async function promoteNext(
  tx: Tx,
  queue: Queue,
  deployment: string,
  options: { readonly locked?: boolean } = {},
): Promise<RunRow | null> {
  // The slot lock first; the query after it sees every promotion before ours.
  if (!options.locked) await lockDeployment(tx, deployment);
  const move = await promotion(tx, deployment);
  if (!move) return null;
  const outcome = await transition(tx, queue, move);
  return outcome.ok ? outcome.run : null;
}

export type NewRun = {
  readonly id: string;
  readonly deployment: Deployment;
  readonly kind: RunKind;
  readonly actor: Actor;
  readonly variables: Record<string, string | number | boolean>;
  readonly secretVariables: Record<string, string | number | boolean>;
  readonly variableSources?: RunRow['variableSources'];
  readonly source: RunRow['source'];
  /** The published config version the deployment comes from. */
  readonly configVersion: string;
};

/**
 * The deployment as a run keeps it. Its rules stay in the config version the
 * run names (read from there, once per process): fifty rules would otherwise
 * ride along in every read and update of the run's row.
 */
export function runSnapshot(deployment: Deployment): Deployment {
  const { appliedRules: _rules, ...snapshot } = deployment;
  return snapshot;
}

/** Inserts a queued run and starts it at once when the deployment is free. */
export async function insertRun(tx: Tx, queue: Queue, input: NewRun): Promise<RunRow> {
  const [row] = await returningRows(
    tx,
    runs,
    tx.insert(runs).values({
      id: input.id,
      deployment: input.deployment.name,
      environment: input.deployment.environment,
      kind: input.kind,
      status: 'queued',
      requestedBy: input.actor.id,
      requestedVia: input.actor.via,
      channel: input.actor.channel ?? null,
      variables: input.variables,
      // Encrypted at rest: read back only through readSecretVariables / openConfig.
      secretVariables: encryptSecretVariables(input.secretVariables),
      variableSources: input.variableSources ?? {},
      source: input.source,
      config: sealConfig(runSnapshot(input.deployment)),
      configVersion: input.configVersion,
    }),
  );
  if (!row) throw new Error('inserting the run returned nothing');
  await tx.insert(runTransitions).values({
    runId: row.id,
    fromStatus: null,
    toStatus: 'queued',
    actor: input.actor.id,
    via: input.actor.via,
    credential: input.actor.credential ?? null,
    reason: `requested ${input.kind}`,
  });
  await notifyRunChanged(tx, row);
  const started = await promoteNext(tx, queue, row.deployment);
  return started?.id === row.id ? started : row;
}
