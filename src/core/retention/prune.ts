// Retention: removes what is past its time, counted from the run's end: run
// log lines (retention.runLogs), plan artifacts (retention.planArtifacts),
// audit trails (retention.audit) and whole runs (retention.runs: the run with
// its plan, approvals, audit trail and log), in small batches, each its own
// short statement, so that live runs never wait behind it:
//   - only finished runs (finished_at set) are touched, and never the last
//     completed run of a deployment (destroy and "run again" start from it);
//   - a run is marked first (logs_pruned_at / artifacts_pruned_at, taken with
//     SKIP LOCKED so a row someone holds is left for the next pass), then its
//     lines go in batches of at most `batchLines`: readers say "pruned"
//     rather than show a half log;
//   - every statement has a lock timeout: if a lock is not free, this pass
//     stops and the next one goes on;
//   - it paces itself (retention.pace): after each statement it sleeps in
//     proportion to the time the statement took, so that it works at most
//     that share of the time and leaves the cores and the disk to live runs.
// A dry run counts what would go and changes nothing.

import type { Sql } from '../store/database.ts';
import { describeKeep, type Retention } from './settings.ts';

export type PruneReport = {
  readonly dryRun: boolean;
  /** Runs ended before this lose their log lines (null: logs are kept). */
  readonly logsBefore: string | null;
  readonly artifactsBefore: string | null;
  /** Finished runs ended before this are removed whole (null: runs are kept). */
  readonly runsBefore: string | null;
  /** Finished runs ended before this lose their audit trail (null: kept as long as the run). */
  readonly auditBefore: string | null;
  readonly runLogs: { runs: number; lines: number };
  readonly planArtifacts: { runs: number; files: number; bytes: number };
  /** Runs removed, and the log lines that went with them. */
  readonly runs: { runs: number; lines: number };
  readonly audit: { runs: number; entries: number };
  /** Runs left alone although due: the last completed run of their deployment. */
  readonly protectedRuns: number;
  /** The pass stopped early (asked to, or a lock was busy): the next pass goes on. */
  readonly stoppedEarly: string | null;
};

export type PruneOptions = {
  readonly dryRun?: boolean;
  /** Runs per batch (default 50). */
  readonly batchRuns?: number;
  /** Log lines per DELETE (default: retention.batchLines). */
  readonly batchLines?: number;
  /** The share of its time the pass works (default: retention.pace); 1: no rest. */
  readonly pace?: number;
  /** How the pass rests between statements (tests record it); a timer by default. */
  readonly rest?: (ms: number) => Promise<void>;
  readonly now?: Date;
  /** Checked between batches (a stopping process). */
  readonly shouldStop?: () => boolean;
};

/** The phase of the one line a pruned log keeps: what was removed, when and why. */
export const PRUNED_PHASE = 'retention';

/** The column that says a run's part was pruned (null: the run itself goes). */
type Marker = 'logs_pruned_at' | 'artifacts_pruned_at' | 'audit_pruned_at' | null;

/** `at`: finished_at as text, to the microsecond (the keyset cursor). */
type Candidate = { id: string; at: string; protected: boolean };

/** The due runs after (finished_at, id), oldest first, with whether each is protected. */
async function candidates(
  sql: Sql,
  marker: Marker,
  before: Date,
  after: { at: string; id: string } | null,
  limit: number,
): Promise<Candidate[]> {
  return sql<Candidate[]>`
    select r.id, r.finished_at::text as at,
      (r.status = 'completed' and not exists (
        select 1 from runs n
        where n.deployment = r.deployment and n.status = 'completed' and n.finished_at > r.finished_at
      )) as protected
    from runs r
    where r.finished_at is not null ${marker ? sql`and r.${sql(marker)} is null` : sql``}
      and r.finished_at < ${before.toISOString()}::timestamptz
      ${after ? sql`and (r.finished_at, r.id) > (${after.at}::timestamptz, ${after.id})` : sql``}
    order by r.finished_at, r.id
    limit ${limit}`;
}

/**
 * The finished runs among `ids` that nobody holds (SKIP LOCKED: a run someone
 * holds is left for the next pass) and whose `marker` is not yet set, locked
 * for this statement: `update runs set <marker> = now() where id in (…)`.
 */
const freeFinished = (tx: Sql, ids: string[], marker: Marker) => tx`
  select id from runs
  where id = any(${ids}) and finished_at is not null ${marker ? tx`and ${tx(marker)} is null` : tx``}
  for update skip locked`;

class LockBusy extends Error {}

/**
 * One short transaction of the pass: it gives up a busy lock, and its commit
 * does not wait for the disk (synchronous_commit off: no fsync of its own that
 * live runs' commits queue behind; a crash may lose its last removals, which
 * the next pass simply does again).
 */
async function guarded<T>(sql: Sql, body: (tx: Sql) => Promise<T>): Promise<T> {
  try {
    return (await sql.begin(async (tx) => {
      await tx`
        select set_config('lock_timeout', '500ms', true), set_config('statement_timeout', '30s', true),
          set_config('synchronous_commit', 'off', true)`;
      return body(tx as unknown as Sql);
    })) as T;
  } catch (error) {
    if ((error as { code?: string }).code === '55P03') throw new LockBusy('a lock was busy');
    throw error;
  }
}

export async function pruneHistory(
  sql: Sql,
  retention: Retention,
  options: PruneOptions = {},
): Promise<PruneReport> {
  const now = options.now ?? new Date();
  const dryRun = options.dryRun ?? false;
  const batchRuns = options.batchRuns ?? 50;
  const batchLines = options.batchLines ?? retention.batchLines;
  const pace = options.pace ?? retention.pace;
  const rest = options.rest ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  /** Runs one statement, then rests (1 - pace) / pace times as long as it took, at most 10 s. */
  const paced = async <T>(statement: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await statement();
    if (pace < 1) await rest(Math.min(10_000, ((performance.now() - started) * (1 - pace)) / pace));
    return result;
  };
  const logsBefore =
    retention.runLogs === null ? null : new Date(now.getTime() - retention.runLogs);
  const artifactsBefore =
    retention.planArtifacts === null ? null : new Date(now.getTime() - retention.planArtifacts);
  const runsBefore = retention.runs === null ? null : new Date(now.getTime() - retention.runs);
  const auditBefore = retention.audit === null ? null : new Date(now.getTime() - retention.audit);
  const runLogs = { runs: 0, lines: 0 };
  const removedRuns = { runs: 0, lines: 0 };
  const audit = { runs: 0, entries: 0 };
  const keptFor = describeKeep(retention.runLogs);
  const planArtifacts = { runs: 0, files: 0, bytes: 0 };
  const protectedIds = new Set<string>();
  /** A dry run's runs that would go whole: the other passes leave them out of their counts. */
  const goingWhole = new Set<string>();
  let stoppedEarly: string | null = null;

  const pass = async (marker: Marker, before: Date, batch: (ids: string[]) => Promise<void>) => {
    let after: { at: string; id: string } | null = null;
    for (;;) {
      if (options.shouldStop?.()) {
        stoppedEarly = 'asked to stop';
        return;
      }
      const due = await paced(() => candidates(sql, marker, before, after, batchRuns));
      if (due.length === 0) return;
      const last = due[due.length - 1]!;
      after = { at: last.at, id: last.id };
      for (const c of due) if (c.protected) protectedIds.add(c.id);
      const ids = due.filter((c) => !c.protected && !goingWhole.has(c.id)).map((c) => c.id);
      if (ids.length > 0) await batch(ids);
    }
  };

  /** A dry run: the runs and their log lines, counted into `into`. */
  const countLines = async (ids: string[], into: { runs: number; lines: number }) => {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from run_logs where run_id = any(${ids})`;
    into.runs += ids.length;
    into.lines += row?.n ?? 0;
  };

  /**
   * The log lines of finished runs, counted into `into` (runs marked, lines
   * removed): each run is marked,
   * and told in the log itself (a last line every reader shows: CLI, Slack,
   * deploy-tui), before any line goes.
   */
  const removeLogs = async (ids: string[], into: { runs: number; lines: number }) => {
    const marked = await paced(() =>
      guarded(
        sql,
        (tx) => tx<{ id: string }[]>`
        with marked as (
          update runs set logs_pruned_at = now()
          where id in (${freeFinished(tx, ids, 'logs_pruned_at')})
          returning id, logs_pruned_at),
        notice as (
          insert into run_logs (run_id, phase, stream, line)
          select m.id, ${PRUNED_PHASE}, 'system',
            'log removed by retention on ' || to_char(m.logs_pruned_at at time zone 'UTC', 'YYYY-MM-DD') || ': '
            || (select count(*) from run_logs l where l.run_id = m.id) || ' line(s), kept '
            || ${keptFor} || ' after the run ended (retention.runLogs in the config). The run, its plan and audit trail are kept.'
          from marked m)
        select id from marked`,
      ),
    );
    const markedIds = marked.map((m) => m.id);
    into.runs += markedIds.length;
    for (;;) {
      if (markedIds.length === 0) return;
      const deleted = await paced(() =>
        guarded(
          sql,
          (tx) => tx`
          delete from run_logs where id in (
            select id from run_logs
            where run_id = any(${markedIds}) and phase <> ${PRUNED_PHASE}
            limit ${batchLines})`,
        ),
      );
      into.lines += deleted.count;
      if (deleted.count < batchLines) return;
    }
  };

  try {
    if (runsBefore !== null) {
      await pass(null, runsBefore, async (ids) => {
        if (dryRun) {
          for (const id of ids) goingWhole.add(id);
          await countLines(ids, removedRuns);
          return;
        }
        // The log first, in batches (a run kept for years may have a long one);
        // then the run with everything that refers to it (plans and their
        // artifacts, approvals, audit trail, Slack messages) and its last line.
        const log = { runs: 0, lines: 0 };
        await removeLogs(ids, log);
        removedRuns.lines += log.lines;
        const gone = await paced(() =>
          guarded(sql, async (tx) => {
            const deleted = await tx<{ id: string }[]>`
              delete from runs where id in (${freeFinished(tx, ids, null)})
              returning id`;
            const goneIds = deleted.map((r) => r.id);
            if (goneIds.length > 0) await tx`delete from run_logs where run_id = any(${goneIds})`;
            return goneIds;
          }),
        );
        removedRuns.runs += gone.length;
      });
    }
    if (logsBefore !== null) {
      await pass('logs_pruned_at', logsBefore, async (ids) => {
        if (dryRun) {
          await countLines(ids, runLogs);
          return;
        }
        await removeLogs(ids, runLogs);
      });
    }
    if (artifactsBefore !== null) {
      await pass('artifacts_pruned_at', artifactsBefore, async (ids) => {
        if (dryRun) {
          const [row] = await sql<{ runs: number; files: number; bytes: number }[]>`
            select count(distinct p.run_id)::int as runs, count(a.plan_id)::int as files,
                   coalesce(sum(octet_length(a.content)), 0)::float8 as bytes
            from plans p join plan_artifacts a on a.plan_id = p.id
            where p.run_id = any(${ids})`;
          planArtifacts.runs += row?.runs ?? 0;
          planArtifacts.files += row?.files ?? 0;
          planArtifacts.bytes += row?.bytes ?? 0;
          return;
        }
        const removed = await paced(() =>
          guarded(sql, async (tx) => {
            const marked = await tx<{ id: string }[]>`
            update runs set artifacts_pruned_at = now()
            where id in (${freeFinished(tx, ids, 'artifacts_pruned_at')})
            returning id`;
            const markedIds = marked.map((m) => m.id);
            if (markedIds.length === 0) return [];
            return tx<{ run_id: string; bytes: number }[]>`
            delete from plan_artifacts a using plans p
            where a.plan_id = p.id and p.run_id = any(${markedIds})
            returning p.run_id, octet_length(a.content)::float8 as bytes`;
          }),
        );
        planArtifacts.runs += new Set(removed.map((r) => r.run_id)).size;
        planArtifacts.files += removed.length;
        planArtifacts.bytes += removed.reduce((sum, r) => sum + r.bytes, 0);
      });
    }
    if (auditBefore !== null) {
      await pass('audit_pruned_at', auditBefore, async (ids) => {
        if (dryRun) {
          const [row] = await sql<{ runs: number; entries: number }[]>`
            select count(distinct run_id)::int as runs, count(*)::int as entries
            from (select run_id from run_transitions where run_id = any(${ids})
              union all select run_id from policy_evaluations where run_id = any(${ids})
              union all select run_id from plans
                where run_id = any(${ids}) and rules_evaluated is not null
              union all select run_id from approvals
                where run_id = any(${ids}) and rules_evaluated is not null) audit`;
          audit.runs += row?.runs ?? 0;
          audit.entries += row?.entries ?? 0;
          return;
        }
        // The trail goes, and one entry in its place says so wherever the
        // audit is read (deploy-bot audit, the API, deploy-tui's run detail).
        const [row] = await paced(() =>
          guarded(
            sql,
            (tx) => tx<{ runs: number; entries: number }[]>`
            with marked as (
              update runs set audit_pruned_at = now()
              where id in (${freeFinished(tx, ids, 'audit_pruned_at')})
              returning id, status, audit_pruned_at),
            removed_transitions as (
              delete from run_transitions t using marked m where t.run_id = m.id
              returning t.run_id),
            -- The rules' evaluations are the audit's other half.
            removed_evaluations as (
              delete from policy_evaluations e using marked m where e.run_id = m.id
              returning e.run_id),
            -- A plan's and an approval's evaluations go from their rows; the
            -- plan and its approvals stay.
            removed_plan_evaluations as (
              update plans p set rules_evaluated = null, rules_matched = null
              from marked m where p.run_id = m.id and p.rules_evaluated is not null
              returning p.run_id),
            removed_approval_evaluations as (
              update approvals a set rules_evaluated = null, rules_matched = null,
                rules_from_plan = null, rules_at = null
              from marked m where a.run_id = m.id and a.rules_evaluated is not null
              returning a.run_id),
            removed as (
              select run_id from removed_transitions
              union all select run_id from removed_evaluations
              union all select run_id from removed_plan_evaluations
              union all select run_id from removed_approval_evaluations),
            notice as (
              insert into run_transitions (run_id, from_status, to_status, actor, via, reason)
              select m.id, m.status, m.status, 'system', 'system',
                'audit trail removed by retention on ' || to_char(m.audit_pruned_at at time zone 'UTC', 'YYYY-MM-DD') || ': '
                || (select count(*) from removed r where r.run_id = m.id) || ' audit entries, kept '
                || ${describeKeep(retention.audit)} || ' after the run ended (retention.audit in the config). The run and its plan are kept.'
              from marked m)
            select (select count(*)::int from marked) as runs, (select count(*)::int from removed) as entries`,
          ),
        );
        audit.runs += row?.runs ?? 0;
        audit.entries += row?.entries ?? 0;
      });
    }
  } catch (error) {
    if (!(error instanceof LockBusy)) throw error;
    stoppedEarly = 'a lock was busy: the next pass goes on';
  }

  if (!dryRun) {
    const totals: [string, number][] = [
      ['run_log_lines', runLogs.lines],
      ['plan_artifact_files', planArtifacts.files],
      ['runs', removedRuns.runs],
      ['audit_entries', audit.entries],
    ];
    for (const [what, n] of totals) {
      if (n === 0) continue;
      await sql`
        insert into metric_totals (metric, labels, value, last_at)
        values ('retention_removed', ${JSON.stringify({ what })}::jsonb, ${n}, now())
        on conflict (metric, labels) do update
          set value = metric_totals.value + excluded.value, last_at = excluded.last_at`;
    }
  }

  return {
    dryRun,
    logsBefore: logsBefore?.toISOString() ?? null,
    artifactsBefore: artifactsBefore?.toISOString() ?? null,
    runsBefore: runsBefore?.toISOString() ?? null,
    auditBefore: auditBefore?.toISOString() ?? null,
    runLogs,
    planArtifacts,
    runs: removedRuns,
    audit,
    protectedRuns: protectedIds.size,
    stoppedEarly,
  };
}

/** One paragraph a person reads (`deploy-bot prune`, the daily job's log line). */
export function describePrune(report: PruneReport): string {
  const verb = report.dryRun ? 'would remove' : 'removed';
  const parts: string[] = [];
  parts.push(
    report.logsBefore === null
      ? 'run logs: kept (retention.runLogs: keep)'
      : `run logs of runs ended before ${report.logsBefore}: ${verb} ${report.runLogs.lines.toLocaleString('en-US')} line(s) of ${report.runLogs.runs} run(s)`,
  );
  parts.push(
    report.artifactsBefore === null
      ? 'plan artifacts: kept (retention.planArtifacts: keep)'
      : `plan artifacts of runs ended before ${report.artifactsBefore}: ${verb} ${report.planArtifacts.files} file(s), ${report.planArtifacts.bytes.toLocaleString('en-US')} bytes, of ${report.planArtifacts.runs} run(s)`,
  );
  parts.push(
    report.runsBefore === null
      ? 'runs: kept (retention.runs: keep)'
      : `runs ended before ${report.runsBefore}: ${verb} ${report.runs.runs} run(s) with their plan, approvals, audit trail and ${report.runs.lines.toLocaleString('en-US')} log line(s)`,
  );
  parts.push(
    report.auditBefore === null
      ? 'audit trails: kept as long as their run (retention.audit: keep)'
      : `audit trails of runs ended before ${report.auditBefore}: ${verb} ${report.audit.entries.toLocaleString('en-US')} entr${report.audit.entries === 1 ? 'y' : 'ies'} of ${report.audit.runs} run(s)`,
  );
  if (report.protectedRuns > 0)
    parts.push(
      `kept ${report.protectedRuns} run(s) that are the last completed run of their deployment`,
    );
  if (report.stoppedEarly) parts.push(`stopped early: ${report.stoppedEarly}`);
  return parts.join('\n');
}
