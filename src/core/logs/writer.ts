import type { Sql } from '../store/database.ts';
import type { Redactor } from './redact.ts';

export const LOG_CHANNEL = 'deploy_run_logs';

type Row = { run_id: string; phase: string; stream: string; line: string };

const FLUSH_MS = 50;
const MAX_BATCH = 2000;

/**
 * Appends a run's log lines to Postgres in batches and wakes followers in other
 * processes with a NOTIFY per batch. Lines are redacted before they are kept.
 */
export class RunLogWriter {
  private rows: Row[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private phase: string;
  private readonly sql: Sql;
  private readonly runId: string;
  private readonly redact: Redactor;

  constructor(sql: Sql, runId: string, phase: string, redact: Redactor) {
    this.sql = sql;
    this.runId = runId;
    this.phase = phase;
    this.redact = redact;
  }

  setPhase(phase: string) {
    this.phase = phase;
  }

  write(stream: 'stdout' | 'stderr' | 'system', line: string) {
    this.rows.push({ run_id: this.runId, phase: this.phase, stream, line: this.redact(line) });
    if (this.rows.length >= MAX_BATCH) this.flushSoon(0);
    else this.flushSoon(FLUSH_MS);
  }

  system(line: string) {
    this.write('system', line);
  }

  private flushSoon(ms: number) {
    if (ms === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      void this.flush();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  flush(): Promise<void> {
    const batch = this.rows;
    this.rows = [];
    if (batch.length > 0) {
      this.inFlight = this.inFlight.then(() => this.insert(batch));
    }
    return this.inFlight;
  }

  private async insert(batch: Row[]) {
    // A database restart must not lose lines: retry with backoff for a while.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.insertOnce(batch);
        return;
      } catch (error) {
        if (attempt >= 8) {
          this.failure ??= error;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  private async insertOnce(batch: Row[]) {
    await this.sql`
        with ins as (
          insert into run_logs ${this.sql(batch, 'run_id', 'phase', 'stream', 'line')}
          returning id
        )
        select pg_notify(${LOG_CHANNEL}, ${this.runId} || ':' || max(id)) from ins`;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    if (this.failure)
      throw new Error(`could not store log lines of ${this.runId}`, { cause: this.failure });
  }
}
