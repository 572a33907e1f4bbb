// Display width of text in a terminal, and truncation by width (not by string
// length), for every front end that lays text out in columns (deploy-tui, the
// CLI's tables) and for the core's own short quotes: a name with wide or
// combining characters never pushes a column out of line.

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
