// A row of styled segments, the building block of every line on screen. Rows are
// fitted to the width before rendering, so nothing ever wraps.

import { Text } from 'ink';
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

function RowLineImpl(props: RowLineProps): ReactElement {
  const segs = fitRow(props.row, props.width, props.pad);
  return h(
    Text,
    { wrap: 'truncate-end' },
    ...segs.map(segmentElement),
    segs.length === 0 ? ' ' : '',
  );
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
