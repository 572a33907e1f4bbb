// Display width of terminal text, and truncation with an ellipsis by width (not
// by string length): a run name with wide or combining characters must never
// push a table column out of line.

import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * Columns one grapheme takes in a terminal: 0, 1 or 2. Measured by string-width,
 * the measure Ink itself lays out with, so our columns and Ink's always agree.
 */
export function graphemeWidth(grapheme: string): number {
  const cp = grapheme.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x7f && grapheme.length === 1) return 1;
  return stringWidth(grapheme);
}

/** Removes ANSI escape sequences (colours, cursor moves). */
export function stripAnsi(text: string): string {
  return stripVTControlCharacters(text);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it matches
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/** A log line or name made safe for one table cell: no escapes, tabs as spaces, no newlines. */
export function sanitize(text: string): string {
  return stripAnsi(text).replace(/\t/g, '  ').replace(/\r?\n/g, ' ').replace(CONTROL, '');
}

/** Display width in terminal columns. */
export function displayWidth(text: string): number {
  // Fast path: printable ASCII is one column per character.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length;
  return stringWidth(text);
}

export const ELLIPSIS = '…';

/** Cuts `text` to at most `width` columns, ending with "…" when something was cut. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (displayWidth(text) <= width) return text;
  if (width === 1) return ELLIPSIS;
  let out = '';
  let used = 0;
  for (const { segment } of segmenter.segment(text)) {
    const w = graphemeWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return out + ELLIPSIS;
}

/** Truncates, then pads with spaces to exactly `width` columns. */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const cut = truncate(text, width);
  const pad = ' '.repeat(Math.max(0, width - displayWidth(cut)));
  return align === 'left' ? cut + pad : pad + cut;
}

/** Skips the first `columns` columns of `text` (horizontal scrolling of log lines). */
export function sliceFrom(text: string, columns: number): string {
  if (columns <= 0) return text;
  let skipped = 0;
  let index = 0;
  for (const { segment, index: at } of segmenter.segment(text)) {
    if (skipped >= columns) {
      index = at;
      return text.slice(index);
    }
    skipped += graphemeWidth(segment);
  }
  return '';
}

/** Word-wraps to `width` columns; words longer than a line are cut hard. */
export function wrap(text: string, width: number, maxLines = Number.POSITIVE_INFINITY): string[] {
  if (width <= 0) return [];
  const lines: string[] = [];
  for (const paragraph of sanitizeKeepingNewlines(text).split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/)) {
      let rest = word;
      while (rest !== '') {
        const sep = line === '' ? '' : ' ';
        if (displayWidth(line + sep + rest) <= width) {
          line += sep + rest;
          rest = '';
        } else if (line !== '') {
          lines.push(line);
          line = '';
        } else {
          // A word wider than the line: cut it.
          let cut = '';
          for (const { segment } of segmenter.segment(rest)) {
            if (displayWidth(cut + segment) > width) break;
            cut += segment;
          }
          if (cut === '') cut = rest.slice(0, 1);
          lines.push(cut);
          rest = rest.slice(cut.length);
        }
      }
    }
    lines.push(line);
  }
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    kept[maxLines - 1] = truncate(`${kept[maxLines - 1] ?? ''} ${ELLIPSIS}`, width);
    return kept;
  }
  return lines;
}

function sanitizeKeepingNewlines(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => sanitize(l))
    .join('\n');
}
