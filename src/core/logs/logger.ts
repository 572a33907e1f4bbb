// The processes' own log (not a run's log): pino, one JSON object per line
// when LOG_FORMAT=json (the default when stdout is not a terminal), readable
// lines otherwise; LOG_LEVEL (DEPLOY_BOT_LOG_LEVEL is an older name for it).
//
// A line about a run carries runId, deployment, status and phase: a caller
// gives the runId, and the rest is filled from what this process last saw of
// the run (noteRun, called by the run store). A decision's line carries actor
// and code. Sensitive variable values of the runs this process is working on
// are masked the way run logs are (rememberSecrets); fields that hold
// credentials or request bodies are never written.

import { type DestinationStream, type Logger as Pino, pino } from 'pino';
import { z } from 'zod';
import { isRunStatus, phaseOf } from '../lifecycle/statuses.ts';
import { recordProcessLogLines } from '../metrics/instruments.ts';
import { makeRedactor, type Redactor } from './redact.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type Level = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
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
  /** json (default when stdout is not a terminal) or pretty (readable lines). */
  readonly format?: LogFormat;
  /** Where records go instead of stdout (tests): already filtered, enriched and redacted. */
  readonly sink?: (record: LogRecord) => void;
};

// ---- settings ---------------------------------------------------------------

const optional = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .transform((v) => (v === '' ? undefined : v))
  .optional();

export const logEnvSchema = z.object({
  LOG_LEVEL: optional.pipe(
    z.enum(LOG_LEVELS, { error: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  ),
  DEPLOY_BOT_LOG_LEVEL: optional.pipe(
    z
      .enum(LOG_LEVELS, {
        error: `DEPLOY_BOT_LOG_LEVEL (an older name of LOG_LEVEL) must be one of ${LOG_LEVELS.join(', ')}`,
      })
      .optional(),
  ),
  LOG_FORMAT: optional.pipe(
    z
      .enum(LOG_FORMATS, { error: `LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}` })
      .optional(),
  ),
});

export type LogSettings = { readonly level: Level; readonly format: LogFormat };

/** LOG_LEVEL (else DEPLOY_BOT_LOG_LEVEL, else info) and LOG_FORMAT (else json unless stdout is a terminal). */
export function readLogSettings(
  env: NodeJS.ProcessEnv,
  stdoutIsTty = process.stdout.isTTY === true,
): LogSettings {
  const parsed = logEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  const e = parsed.data;
  return {
    level: e.LOG_LEVEL ?? e.DEPLOY_BOT_LOG_LEVEL ?? 'info',
    format: e.LOG_FORMAT ?? (stdoutIsTty ? 'pretty' : 'json'),
  };
}

// ---- what is known about runs and their secrets ---------------------------------

type RunFacts = { readonly deployment: string; readonly status: string };
const RUN_FACTS_MAX = 10_000;
const runFacts = new Map<string, RunFacts>();

/** The run store tells the logger what a run is now (its lines then say so). */
export function noteRun(run: { id: string; deployment: string; status: string }): void {
  runFacts.delete(run.id);
  runFacts.set(run.id, { deployment: run.deployment, status: run.status });
  if (runFacts.size > RUN_FACTS_MAX) {
    const oldest = runFacts.keys().next().value;
    if (oldest !== undefined) runFacts.delete(oldest);
  }
}

const secretSets = new Set<readonly (string | number | boolean)[]>();
let secretRedactor: Redactor = (text) => text;

/** Masks these values in every line while a step of their run runs here; returns the undo. */
export function rememberSecrets(values: readonly (string | number | boolean)[]): () => void {
  if (values.length === 0) return () => {};
  secretSets.add(values);
  secretRedactor = makeRedactor([...secretSets].flat());
  return () => {
    secretSets.delete(values);
    secretRedactor = makeRedactor([...secretSets].flat());
  };
}

/** Credentials and bodies: dropped from every line whatever their nesting. */
const NEVER_LOGGED = new Set([
  'token',
  'bottoken',
  'apptoken',
  'signingsecret',
  'authorization',
  'cookie',
  'password',
  'secret',
  'secretvariables',
  'body',
  'rawbody',
  'payload',
  'x-slack-signature',
]);
const DROPPED = '[not logged]';

function clean(value: unknown, depth: number): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: secretRedactor(value.message),
      ...('code' in value && (typeof value.code === 'string' || typeof value.code === 'number')
        ? { code: value.code }
        : {}),
    };
  }
  if (typeof value === 'string') return secretRedactor(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 4) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => clean(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = NEVER_LOGGED.has(k.toLowerCase()) ? DROPPED : clean(v, depth + 1);
  }
  return out;
}

/** The fields of a line: run facts filled in, credentials dropped, secrets masked. */
function prepare(base: Fields, fields: Fields | undefined): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base, ...fields };
  const runId = merged.runId;
  if (typeof runId === 'string') {
    const facts = runFacts.get(runId);
    if (facts) {
      merged.deployment ??= facts.deployment;
      merged.status ??= facts.status;
    }
    const status = merged.status;
    if (merged.phase === undefined && typeof status === 'string' && isRunStatus(status)) {
      merged.phase = phaseOf(status) ?? (facts ? 'none' : undefined);
    }
  }
  return clean(merged, 0) as Record<string, unknown>;
}

// ---- output -----------------------------------------------------------------

/**
 * Lines to stdout, written together: a write to a pipe is synchronous and
 * wakes its reader, which costs far more than the line, so info and debug
 * lines wait up to 50 ms for company; a warning or an error is written at once
 * with what waits before it, and whatever waits is written when the process exits.
 */
let pending = '';
let pendingLines = 0;
let flushTimer: NodeJS.Timeout | null = null;
let flushOnExit = false;
const flush = () => {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (pending === '') return;
  const out = pending;
  const lines = pendingLines;
  pending = '';
  pendingLines = 0;
  try {
    process.stdout.write(out);
    recordProcessLogLines('written', lines);
  } catch {
    // stdout is gone (EPIPE): the lines are lost, and counted so.
    recordProcessLogLines('lost', lines);
  }
};

function queueLine(line: string, urgent: boolean) {
  pending += line;
  pendingLines++;
  if (!flushOnExit) {
    flushOnExit = true;
    process.once('exit', flush);
  }
  if (urgent || pending.length > 16_384) flush();
  else flushTimer ??= setTimeout(flush, 50).unref();
}

function readable(json: string): string {
  const record = JSON.parse(json) as Record<string, unknown>;
  const { time, level, msg, pid: _pid, hostname: _host, ...rest } = record;
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const lvl = String(level).toUpperCase().padEnd(5);
  const pairs = Object.entries(rest).map(
    ([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`,
  );
  return `${clock} ${lvl} ${String(msg)}${pairs.length ? ` ${pairs.join(' ')}` : ''}\n`;
}

function stdoutDestination(format: LogFormat): DestinationStream {
  return {
    write(line: string) {
      const masked = secretRedactor(line);
      const urgent = /"level":"(warn|error)"/.test(masked.slice(0, 80));
      queueLine(format === 'pretty' ? readable(masked) : masked, urgent);
    },
  };
}

const pinos = new Map<string, Pino>();
function pinoFor(format: LogFormat): Pino {
  let p = pinos.get(format);
  if (p === undefined) {
    p = pino(
      {
        level: 'debug',
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        // The second line of defence after clean(): whatever a library adds.
        redact: {
          paths: ['*.headers.authorization', '*.headers.cookie', 'req.body', 'res.body'],
          censor: DROPPED,
        },
      },
      stdoutDestination(format),
    );
    pinos.set(format, p);
  }
  return p;
}

export function createLog(options: LogOptions = {}, base: Fields = {}): Log {
  const min = RANK[options.level ?? 'info'];
  const sink = options.sink;
  const out = sink ? null : pinoFor(options.format ?? 'json');
  const emit = (level: Exclude<Level, 'silent'>, msg: string, fields?: Fields) => {
    if (RANK[level] < min) return;
    try {
      const prepared = prepare(base, fields);
      if (sink) {
        sink({ ...prepared, level, msg: secretRedactor(msg) });
        recordProcessLogLines('written', 1);
      } else out?.[level](prepared, msg);
    } catch {
      // a log line never breaks the process; it is counted as lost
      recordProcessLogLines('lost', 1);
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

let processLogger: Log = silentLog;

/**
 * The process's logger: silent until the process says it is a server
 * (`serve`, `worker`: configureProcessLog), so that the CLI's and deploy-tui's
 * stdout stays theirs.
 */
export function processLog(): Log {
  return processLogger;
}

/** Turns the process's log on with these settings (from readLogSettings). */
export function configureProcessLog(settings: LogSettings): Log {
  processLogger = createLog(settings);
  return processLogger;
}
