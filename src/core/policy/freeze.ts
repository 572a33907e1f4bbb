// Deploy freezes: windows during which runs may plan but not apply. A window is
// either recurring (GitLab's model: a cron expression where it starts and one
// where it ends, in a time zone, or where it starts and how long it lasts) or
// one-off (two dates, or a date and a duration). Cron expressions are read by
// cron-parser, the library pg-boss schedules with.

import { CronExpressionParser } from 'cron-parser';

export type FreezeSpec = {
  /** A cron expression (5 fields) or an ISO 8601 date-time. */
  readonly start: string;
  /** Where it ends (same kind as `start`); or give `durationMs`. */
  readonly end?: string | undefined;
  /** How long each occurrence lasts from its start, instead of `end`. */
  readonly durationMs?: number | undefined;
  /** IANA time zone of the cron expressions and of date-times without an offset. */
  readonly timezone: string;
  readonly reason: string;
};

export type ActiveFreeze = { readonly reason: string; readonly endsAt: Date };

export type Freeze = {
  readonly spec: FreezeSpec;
  /** The freeze in force at `instant`, or null. */
  activeAt(instant: Date): ActiveFreeze | null;
};

const CRON = /^\S+(\s+\S+){4}$/;

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

type Point =
  | { readonly kind: 'cron'; readonly source: string }
  | { readonly kind: 'date'; readonly at: Date };

function pointOf(text: string, timeZone: string): Point | string {
  const trimmed = text.trim();
  if (CRON.test(trimmed)) {
    try {
      CronExpressionParser.parse(trimmed, { tz: timeZone, strict: false });
      return { kind: 'cron', source: trimmed };
    } catch (error) {
      return `"${trimmed}" is not a cron expression: ${(error as Error).message}`;
    }
  }
  const at = dateIn(trimmed, timeZone);
  if (!at) {
    return `"${trimmed}" is neither a cron expression (5 fields, e.g. "0 15 * * 5") nor a date-time (e.g. 2026-12-24T00:00)`;
  }
  return { kind: 'date', at };
}

/** An ISO date-time; without an offset it is wall-clock time in `timeZone`. */
function dateIn(text: string, timeZone: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(text)) return null;
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/.test(text) && text.includes('T');
  if (hasOffset) {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const local = new Date(`${text.includes('T') ? text : `${text}T00:00`}Z`);
  if (Number.isNaN(local.getTime())) return null;
  // The offset of the zone at that wall-clock time (twice, to settle across a DST change).
  let utc = local.getTime();
  for (let i = 0; i < 2; i++) utc = local.getTime() - offsetMs(new Date(utc), timeZone);
  return new Date(utc);
}

function offsetMs(instant: Date, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(instant)
      .map((p) => [p.type, Number(p.value)]),
  );
  const asUtc = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return asUtc - Math.floor(instant.getTime() / 1000) * 1000;
}

function previous(point: Point, instant: Date, timeZone: string): Date | null {
  if (point.kind === 'date') return point.at <= instant ? point.at : null;
  // The occurrence at this very minute counts as already started.
  const from = new Date(instant.getTime() + 1);
  return CronExpressionParser.parse(point.source, { currentDate: from, tz: timeZone })
    .prev()
    .toDate();
}

function following(point: Point, instant: Date, timeZone: string): Date | null {
  if (point.kind === 'date') return point.at > instant ? point.at : null;
  return CronExpressionParser.parse(point.source, { currentDate: instant, tz: timeZone })
    .next()
    .toDate();
}

/** Checks a window; a string says what is wrong with it. */
export function compileFreeze(spec: FreezeSpec): Freeze | string {
  if (!isValidTimeZone(spec.timezone)) return `unknown time zone "${spec.timezone}"`;
  const start = pointOf(spec.start, spec.timezone);
  if (typeof start === 'string') return `start: ${start}`;
  if (spec.durationMs !== undefined) {
    if (spec.end !== undefined) return 'give end or duration, not both';
    if (!(spec.durationMs > 0)) return 'duration must be longer than 0';
    return { spec, activeAt: (instant) => lastingFrom(start, spec, spec.durationMs!, instant) };
  }
  if (spec.end === undefined) return 'give end or duration';
  const end = pointOf(spec.end, spec.timezone);
  if (typeof end === 'string') return `end: ${end}`;
  if (start.kind !== end.kind) return 'start and end must both be cron expressions or both dates';
  if (start.kind === 'date' && end.kind === 'date' && end.at <= start.at)
    return 'end must be after start';
  return {
    spec,
    activeAt(instant) {
      const started = previous(start, instant, spec.timezone);
      if (!started) return null;
      const ended = previous(end, instant, spec.timezone);
      // In force when it started more recently than it last ended.
      if (ended && ended >= started) return null;
      const endsAt = following(end, instant, spec.timezone);
      return endsAt ? { reason: spec.reason, endsAt } : null;
    },
  };
}

/** At most this many back-to-back occurrences are joined into one freeze. */
const MAX_JOINED = 100;

/**
 * A window of `durationMs` from each start: in force when the latest start is
 * less than that long ago. Occurrences that begin before the current one ends
 * extend it, so the end given is when deploys are possible again.
 */
function lastingFrom(
  start: Point,
  spec: FreezeSpec,
  durationMs: number,
  instant: Date,
): ActiveFreeze | null {
  const started = previous(start, instant, spec.timezone);
  if (!started || started.getTime() + durationMs <= instant.getTime()) return null;
  let endsAt = new Date(started.getTime() + durationMs);
  let cursor = started;
  for (let i = 0; i < MAX_JOINED; i++) {
    const next = following(start, cursor, spec.timezone);
    if (!next || next >= endsAt) break;
    endsAt = new Date(next.getTime() + durationMs);
    cursor = next;
  }
  return { reason: spec.reason, endsAt };
}
