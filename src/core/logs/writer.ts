import { once } from 'node:events';
import { recordLogLines } from '../metrics/instruments.ts';
import type { Sql } from '../store/database.ts';
import { LOG_CHANNEL, runLoggedPayload } from '../store/run-notifications.ts';
import type { Redactor } from './redact.ts';

type Row = { phase: string; stream: string; line: string };

const FLUSH_MS = 50;
/** Batches this large go in with COPY; smaller ones with one INSERT. */
const COPY_THRESHOLD = 200;
/** Lines buffered before the step's output is paused until the database catches up. */
const HIGH_WATER = 10_000;
/** How long a batch is tried again while the database cannot take it. */
const RETRY_FOR_MS = 5 * 60_000;

/** COPY text format: backslash, tab, newline and carriage return escaped; NUL is not allowed. */
function copyField(value: string): string {
  if (!/[\\\t\n\r\0]/.test(value)) return value;
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r')
    .replaceAll('\0', '');
}

/**
 * Appends a run's log lines to Postgres and wakes followers in other processes
 * with a NOTIFY per batch. Lines are redacted before they are kept. Batches go
 * in with COPY; while one is being written the next one gathers, so a noisy
 * step is written in large batches and a quiet one within FLUSH_MS.
 */
export class RunLogWriter {
  private rows: Row[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private failure: unknown = null;
  private lost = 0;
  private phase: string;
  private drained: { promise: Promise<void>; resolve: () => void } | null = null;
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
    this.rows.push({ phase: this.phase, stream, line: this.redact(line) });
    if (!this.timer && !this.writing) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.startWriting();
      }, FLUSH_MS);
    }
  }

  system(line: string) {
    this.write('system', line);
  }

  /** A promise to wait on before producing more lines, or null when there is room. */
  backpressure(): Promise<void> | null {
    if (this.rows.length < HIGH_WATER) return null;
    if (!this.drained) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.drained = { promise, resolve };
    }
    return this.drained.promise;
  }

  private startWriting() {
    if (this.writing || this.rows.length === 0) return;
    this.writing = (async () => {
      while (this.rows.length > 0) {
        const batch = this.rows;
        this.rows = [];
        if (this.drained) {
          this.drained.resolve();
          this.drained = null;
        }
        await this.insert(batch);
      }
    })().finally(() => {
      this.writing = null;
    });
  }

  /** Writes everything buffered so far; resolves when it is stored. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.writing || this.rows.length > 0) {
      this.startWriting();
      await this.writing;
    }
  }

  private async insert(batch: Row[]) {
    // A database restart or failover must not lose lines: the batch is tried
    // again for minutes (meanwhile the step's output is paused at HIGH_WATER,
    // so memory stays bounded). Only then is it given up, and close() says so.
    let failingSince = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        if (batch.length >= COPY_THRESHOLD) await this.copy(batch);
        else await this.insertRows(batch);
        recordLogLines('written', batch.length);
        return;
      } catch (error) {
        failingSince ||= Date.now();
        if (Date.now() - failingSince >= RETRY_FOR_MS) {
          this.lost += batch.length;
          recordLogLines('lost', batch.length);
          this.failure ??= error;
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Small batches: one INSERT that also wakes the followers (COPY costs more round trips). */
  private async insertRows(batch: Row[]) {
    const rows = batch.map((r) => ({
      run_id: this.runId,
      phase: r.phase,
      stream: r.stream,
      line: r.line.replaceAll('\0', ''),
    }));
    await this.sql`
      with ins as (insert into run_logs ${this.sql(rows, 'run_id', 'phase', 'stream', 'line')} returning 1)
      select pg_notify(${LOG_CHANNEL}, ${runLoggedPayload(this.runId)}) from (select 1 from ins limit 1) x`;
  }

  private async copy(batch: Row[]) {
    const prefix = `${copyField(this.runId)}\t`;
    const reserved = await this.sql.reserve();
    try {
      await reserved`begin`;
      const stream =
        await reserved`copy run_logs (run_id, phase, stream, line) from stdin`.writable();
      const CHUNK = 4096;
      for (let i = 0; i < batch.length; i += CHUNK) {
        let text = '';
        for (const r of batch.slice(i, i + CHUNK)) {
          text += `${prefix}${copyField(r.phase)}\t${r.stream}\t${copyField(r.line)}\n`;
        }
        if (!stream.write(text)) await once(stream, 'drain');
      }
      stream.end();
      await once(stream, 'finish');
      // Delivered at commit, with the lines: a follower never wakes before they are visible.
      await reserved`select pg_notify(${LOG_CHANNEL}, ${runLoggedPayload(this.runId)})`;
      await reserved`commit`;
    } catch (error) {
      await reserved`rollback`.catch(() => {});
      throw error;
    } finally {
      reserved.release();
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.failure)
      throw new Error(
        `could not store ${this.lost} log line(s) of ${this.runId}: the database refused them for ${RETRY_FOR_MS / 60_000} minutes`,
        { cause: this.failure },
      );
  }
}
