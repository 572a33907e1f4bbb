// A row of styled segments, the building block of every line on screen. Rows are
// fitted to the width before rendering, so nothing ever wraps.

import { renderToString, Text, useIsScreenReaderEnabled } from 'ink';
import { createElement as h, memo, type ReactElement } from 'react';
import { displayWidth, truncate } from '../text/width.ts';
import type { Colour } from '../theme.ts';

export type Segment = {
  readonly text: string;
  readonly color?: Colour | undefined;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly inverse?: boolean;
  readonly underline?: boolean;
};

export type Row = readonly Segment[];

/** Cuts the row to `width` columns (ellipsis at the cut), optionally padding to it. */
export function fitRow(row: Row, width: number, pad = false): Segment[] {
  const out: Segment[] = [];
  let used = 0;
  for (let i = 0; i < row.length; i++) {
    const seg = row[i]!;
    const w = displayWidth(seg.text);
    if (used + w <= width) {
      out.push(seg);
      used += w;
      continue;
    }
    const room = width - used;
    if (room > 0) {
      out.push({ ...seg, text: truncate(seg.text, room) });
      used += displayWidth(truncate(seg.text, room));
    }
    break;
  }
  if (pad && used < width) {
    const last = out.at(-1);
    const padding = ' '.repeat(width - used);
    if (last?.inverse) out[out.length - 1] = { ...last, text: last.text + padding };
    else out.push({ text: padding });
  }
  return out;
}

export function rowWidth(row: Row): number {
  return row.reduce((n, s) => n + displayWidth(s.text), 0);
}

function segmentElement(seg: Segment, key: number): ReactElement {
  return h(
    Text,
    {
      key,
      color: seg.color,
      bold: seg.bold,
      dimColor: seg.dim,
      inverse: seg.inverse,
      underline: seg.underline,
    },
    seg.text,
  );
}

function sameSegment(a: Segment, b: Segment): boolean {
  return (
    a.text === b.text &&
    a.color === b.color &&
    !a.bold === !b.bold &&
    !a.dim === !b.dim &&
    !a.inverse === !b.inverse &&
    !a.underline === !b.underline
  );
}

/** Rows are built afresh by their parents on every render: equal by value is equal. */
export function sameRow(a: Row, b: Row): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameSegment(a[i]!, b[i]!)) return false;
  return true;
}

type RowLineProps = {
  readonly row: Row;
  readonly width: number;
  readonly pad?: boolean;
};

// SGR codes of the styles, as Ink's <Text> draws them (chalk: named colours have
// the same codes at every colour level).
const FOREGROUND: { readonly [C in Colour]: number } = {
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  white: 37,
  gray: 90,
};

/**
 * Whether Ink draws styles at all (chalk decides once, from the terminal and
 * FORCE_COLOR): asked of Ink itself, so that a styled line is what <Text> would draw.
 */
const STYLES_DRAWN = renderToString(h(Text, { bold: true }, 'x')).includes('\u001b[');

/**
 * The segments as one string with their SGR codes, nested as <Text> nests them
 * (inverse outermost, dim innermost). Ink lays out and writes it exactly as the
 * same segments in nested <Text> elements, but a line is one text node instead
 * of one per segment: Ink concatenates and styles every text node of every line
 * on every frame, and React mounts a line that scrolls into view with all of them.
 */
export function styledLine(segs: readonly Segment[]): string {
  if (!STYLES_DRAWN) return segs.map((s) => s.text).join('');
  let out = '';
  for (const s of segs) {
    // chalk draws no codes around nothing.
    if (s.text === '') continue;
    let open = '';
    let close = '';
    if (s.inverse) {
      open += '\u001b[7m';
      close = `\u001b[27m${close}`;
    }
    if (s.underline) {
      open += '\u001b[4m';
      close = `\u001b[24m${close}`;
    }
    if (s.bold) {
      open += '\u001b[1m';
      close = `\u001b[22m${close}`;
    }
    if (s.color) {
      open += `\u001b[${FOREGROUND[s.color]}m`;
      close = `\u001b[39m${close}`;
    }
    if (s.dim) {
      open += '\u001b[2m';
      close = `\u001b[22m${close}`;
    }
    out += open + s.text + close;
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escapes are what it finds
const ESCAPE = /[\u001b\u009b]/;

function RowLineImpl(props: RowLineProps): ReactElement {
  const segs = fitRow(props.row, props.width, props.pad);
  // A screen reader gets Ink's unstyled text, and text with escapes of its own is
  // styled around them as chalk does: <Text> elements for both.
  if (useIsScreenReaderEnabled() || segs.some((s) => ESCAPE.test(s.text))) {
    return h(
      Text,
      { wrap: 'truncate-end' },
      ...segs.map(segmentElement),
      segs.length === 0 ? ' ' : '',
    );
  }
  return h(Text, { wrap: 'truncate-end' }, segs.length === 0 ? ' ' : styledLine(segs));
}

/**
 * One line of styled segments, fitted to the width. Memoised by value: a line
 * whose text, styles and width did not change is not rendered again, so that
 * moving the selection re-renders two lines of a table, not all of them.
 */
export const RowLine = memo(
  RowLineImpl,
  (a, b) => a.width === b.width && !a.pad === !b.pad && sameRow(a.row, b.row),
);
