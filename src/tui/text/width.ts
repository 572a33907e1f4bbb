// Terminal text for deploy-tui: escapes stripped, wrapped and scrolled by
// display width (the width itself and truncation are core/text/width.ts's,
// shared with the CLI).

import { stripVTControlCharacters } from 'node:util';
import { displayWidth, ELLIPSIS, graphemeWidth, truncate } from '../../core/text/width.ts';

export { displayWidth, ELLIPSIS, fit, graphemeWidth, truncate } from '../../core/text/width.ts';

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

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
