// Structured logs: one JSON object per line (time, level, msg, and fields such
// as runId, userId, command), to stdout by default. Tests pass a sink or `silent`.

import type { Logger as BoltLogger } from '@slack/bolt';
import { LogLevel } from '@slack/bolt';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type Level = (typeof LOG_LEVELS)[number];
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export type Fields = Readonly<Record<string, unknown>>;
export type LogRecord = { readonly level: Exclude<Level, 'silent'>; readonly msg: string } & Fields;

export type Log = {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Log;
};

export type LogOptions = {
  readonly level?: Level;
  /** Where lines go (default: stdout). Receives the record, already filtered by level. */
  readonly sink?: (record: LogRecord) => void;
};

function serializable(value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...('code' in value ? { code: value.code } : {}),
    };
  }
  return value;
}

/**
 * Lines to stdout, written together: a write to a pipe is synchronous and
 * wakes its reader, which costs far more than the line, so info and debug
 * lines wait up to 50 ms for company; a warning or an error is written at once
 * with what waits before it, and whatever waits is written when the process exits.
 */
let pending = '';
let flushTimer: NodeJS.Timeout | null = null;
const flush = () => {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (pending === '') return;
  const out = pending;
  pending = '';
  process.stdout.write(out);
};
let flushOnExit = false;

const stdoutSink = (record: LogRecord) => {
  pending += `${JSON.stringify({ time: new Date().toISOString(), ...record }, (_k, v: unknown) => serializable(v))}\n`;
  if (!flushOnExit) {
    flushOnExit = true;
    process.once('exit', flush);
  }
  if (record.level === 'warn' || record.level === 'error' || pending.length > 16_384) flush();
  else flushTimer ??= setTimeout(flush, 50).unref();
};

export function createLog(options: LogOptions = {}, base: Fields = {}): Log {
  const min = RANK[options.level ?? 'info'];
  const sink = options.sink ?? stdoutSink;
  const emit = (level: Exclude<Level, 'silent'>, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    try {
      sink({ ...base, ...fields, level, msg });
    } catch {
      // a log line never breaks the bot
    }
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLog(options, { ...base, ...fields }),
  };
}

export const silentLog: Log = createLog({ level: 'silent' });

function joinArgs(args: unknown[]): string {
  return args
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : JSON.stringify(a)))
    .join(' ');
}

/** Bolt's and the Web API client's logger interface over ours (their chatter at debug). */
export function boltLogger(log: Log): BoltLogger {
  let level: LogLevel = LogLevel.WARN;
  const component = log.child({ component: 'slack-sdk' });
  return {
    debug: (...args: unknown[]) => component.debug(joinArgs(args)),
    info: (...args: unknown[]) => component.debug(joinArgs(args)),
    warn: (...args: unknown[]) => component.warn(joinArgs(args)),
    error: (...args: unknown[]) => component.error(joinArgs(args)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
