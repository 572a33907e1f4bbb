// Deploy freezes: windows during which runs may plan but not apply. A window is
// either recurring (GitLab's model: a cron expression where it starts and one
// where it ends, in a time zone) or one-off (two dates). Cron expressions are
// read by cron-parser, the library pg-boss schedules with.

import { CronExpressionParser } from 'cron-parser';

export type FreezeSpec = {
  /** A cron expression (5 fields) or an ISO 8601 date-time. */
  readonly start: string;
  readonly end: string;
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
