import { createRequire } from 'node:module';
import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { commandFor } from '../src/tui/keys.ts';
import { layoutColumns, MARKER_WIDTH } from '../src/tui/layout.ts';
import { clock, roughAge, runDuration, runTime, shortDuration } from '../src/tui/text/time.ts';
import {
  displayWidth,
  fit,
  sanitize,
  sliceFrom,
  stripAnsi,
  truncate,
  wrap,
} from '../src/tui/text/width.ts';
import { colourWanted, makeTheme } from '../src/tui/theme.ts';

describe('display width and truncation', () => {
  it('measures every assigned code point as Ink does, so columns line up with what Ink lays out', async () => {
    // The string-width that Ink itself resolves, not merely one of ours.
    const fromInk = createRequire(createRequire(import.meta.url).resolve('ink'));
    const inkWidth = (await import(fromInk.resolve('string-width'))).default as (
      s: string,
    ) => number;
    const assigned = /\p{Assigned}/u;
    const differing: string[] = [];
    for (let cp = 0xa0; cp <= 0x3ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (!assigned.test(ch)) continue;
      if (displayWidth(ch) !== inkWidth(ch)) differing.push(cp.toString(16));
    }
    expect(differing).toEqual([]);
  });

  it('counts columns, not characters', () => {
    expect(displayWidth('hello')).toBe(5);
    expect(displayWidth('漢字')).toBe(4);
    expect(displayWidth('🚀 go')).toBe(5);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(displayWidth('⏸ ✓ ✗ ‼ …')).toBe(9);
  });

  it('truncates with an ellipsis by width, never splitting a wide character', () => {
    expect(truncate('deployment-with-a-long-name', 10)).toBe('deploymen…');
    expect(displayWidth(truncate('deployment-with-a-long-name', 10))).toBe(10);
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('漢字漢字漢字', 5)).toBe('漢字…');
    expect(displayWidth(truncate('漢字漢字漢字', 6))).toBeLessThanOrEqual(6);
    expect(truncate('abc', 1)).toBe('…');
    expect(truncate('abc', 0)).toBe('');
  });

  it('fits to an exact width, left or right aligned', () => {
    expect(fit('ab', 4)).toBe('ab  ');
    expect(fit('ab', 4, 'right')).toBe('  ab');
    expect(fit('abcdef', 4)).toBe('abc…');
    expect(displayWidth(fit('漢字漢字', 5))).toBe(5);
  });

  it('makes text safe for one cell: no escapes, no newlines, no tabs', () => {
    expect(sanitize('\u001b[31mred\u001b[0m\tnext\nline\u0007')).toBe('red  next line');
    expect(stripAnsi('\u001b]0;title\u0007x')).toBe('x');
  });

  it('word-wraps, cutting words longer than a line, and caps the lines', () => {
    expect(wrap('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrap('abcdefghijklmnop', 5)).toEqual(['abcde', 'fghij', 'klmno', 'p']);
    const capped = wrap('one two three four five six', 8, 2);
    expect(capped).toHaveLength(2);
    expect(capped[1]).toMatch(/…$/);
  });

  it('scrolls sideways by columns', () => {
    expect(sliceFrom('abcdef', 2)).toBe('cdef');
    expect(sliceFrom('abc', 5)).toBe('');
    expect(sliceFrom('abc', 0)).toBe('abc');
  });
});

describe('times', () => {
  it('formats durations compactly', () => {
    expect(shortDuration(4_000)).toBe('4s');
    expect(shortDuration(64_000)).toBe('1m04s');
    expect(shortDuration(3 * 3600_000 + 5 * 60_000)).toBe('3h05m');
    expect(shortDuration(50 * 3600_000)).toBe('2d2h');
    expect(shortDuration(-5)).toBe('0s');
    expect(roughAge(42_000)).toBe('42s');
    expect(roughAge(3 * 3600_000 + 5)).toBe('3h');
  });

  it('shows how long a running run has run, and how long ago a finished one ended', () => {
    const now = Date.parse('2024-05-01T12:10:00Z');
    expect(runTime({ createdAt: '2024-05-01T12:09:00Z', finishedAt: null }, now)).toEqual({
      text: '1m00s',
      running: true,
    });
    expect(
      runTime({ createdAt: '2024-05-01T10:00:00Z', finishedAt: '2024-05-01T10:05:00Z' }, now),
    ).toEqual({
      text: '2h ago',
      running: false,
    });
    expect(
      runDuration({ createdAt: '2024-05-01T10:00:00Z', finishedAt: '2024-05-01T10:05:30Z' }, now),
    ).toBe('5m30s');
  });

  it('shows a time of day today and a date otherwise', () => {
    const now = new Date(2024, 4, 1, 15, 0, 0).getTime();
    expect(clock(new Date(2024, 4, 1, 14, 3, 7).toISOString(), now)).toBe('14:03:07');
    expect(clock(new Date(2024, 3, 30, 9, 5, 0).toISOString(), now)).toBe('Apr 30 09:05');
  });
});

describe('runs table columns', () => {
  const total = (width: number) => {
    const cols = layoutColumns(width);
    return MARKER_WIDTH + cols.reduce((n, c) => n + c.width, 0) + cols.length - 1;
  };

  it('fits every width exactly or under, dropping the least important columns first', () => {
    for (const width of [40, 60, 72, 80, 100, 120, 160, 250])
      expect(total(width)).toBeLessThanOrEqual(width);
    const at80 = layoutColumns(80).map((c) => c.key);
    expect(at80).toEqual(['id', 'deployment', 'environment', 'status', 'phase', 'by', 'age']);
    const at100 = layoutColumns(100).map((c) => c.key);
    expect(at100).toEqual([
      'id',
      'deployment',
      'environment',
      'kind',
      'status',
      'phase',
      'by',
      'age',
    ]);
    const at50 = layoutColumns(50).map((c) => c.key);
    expect(at50).toContain('id');
    expect(at50).toContain('status');
    expect(at50).not.toContain('kind');
  });

  it('gives spare width to names and status, up to their maximum', () => {
    const wide = Object.fromEntries(layoutColumns(200).map((c) => [c.key, c.width]));
    expect(wide.deployment).toBe(40);
    expect(wide.status).toBe(28);
    expect(wide.id).toBe(14);
  });
});

describe('colour', () => {
  it('honours NO_COLOR (set and not empty)', () => {
    expect(colourWanted({})).toBe(true);
    expect(colourWanted({ NO_COLOR: '' })).toBe(true);
    expect(colourWanted({ NO_COLOR: '1' })).toBe(false);
    const plain = makeTheme(false);
    expect(plain.status('failed')).toBeUndefined();
    expect(plain.c('danger')).toBeUndefined();
    expect(makeTheme(true).status('failed')).toBe('red');
  });
});

describe('keys', () => {
  const none: Key = {
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    home: false,
    end: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    super: false,
    hyper: false,
    capsLock: false,
    numLock: false,
  };
  it('maps vi keys and arrows alike', () => {
    expect(commandFor('j', none)).toEqual({ type: 'down' });
    expect(commandFor('', { ...none, downArrow: true })).toEqual({ type: 'down' });
    expect(commandFor('k', none)).toEqual({ type: 'up' });
    expect(commandFor('', { ...none, pageUp: true })).toEqual({ type: 'pageUp' });
    expect(commandFor('G', { ...none, shift: true })).toEqual({ type: 'bottom' });
    expect(commandFor('g', none)).toEqual({ type: 'top' });
    expect(commandFor('', { ...none, return: true })).toEqual({ type: 'open' });
    expect(commandFor('', { ...none, escape: true })).toEqual({ type: 'back' });
    expect(commandFor('', { ...none, tab: true })).toEqual({ type: 'tab' });
    expect(commandFor('3', none)).toEqual({ type: 'group', group: 'failed' });
    expect(commandFor('q', none)).toEqual({ type: 'quit' });
    expect(commandFor('?', none)).toEqual({ type: 'help' });
    expect(commandFor('Z', none)).toBeNull();
  });
});
