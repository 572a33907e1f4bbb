// The complete plan (and logs) as a series of thread messages, each within
// Slack's limits, so nothing is hidden however long the output is. Each chunk
// is mrkdwn of at most CHUNK_MAX characters: short enough for a message's
// top-level text and for a section block's text (3,000).

import type { RunView } from '../../core/api/types.ts';
import { planCounts } from '../../core/text/plan.ts';
import { CODE_BLOCK_OVERHEAD, cleanLine, codeBlock, codeText, fitEncoded } from './format.ts';
import { escapeMrkdwn, LIMITS, safePrefix } from './limits.ts';
import { runTitle } from './run-message.ts';

export const CHUNK_MAX = LIMITS.sectionText;
/** Characters kept for a chunk's heading line. */
const HEADING_RESERVE = 320;

/** The longest prefix of `text` whose encoding fits `room` (at least one character). */
function longestFitting(text: string, room: number, encode: (s: string) => string): string {
  let lo = 1;
  let hi = text.length;
  let best = String.fromCodePoint(text.codePointAt(0) ?? 0x20);
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const candidate = safePrefix(text, mid);
    if (candidate.length > 0 && encode(candidate).length <= room) {
      best = candidate;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best;
}

/**
 * Splits `text` into consecutive pieces whose concatenation is exactly `text`,
 * each encoding (without a trailing newline) to at most `room` characters.
 * Splits after a newline where it can; a line too long on its own is cut.
 */
export function splitText(
  text: string,
  room: number,
  encode: (s: string) => string = codeText,
): string[] {
  const pieces: string[] = [];
  // Encoding works character by character and never across a newline, so the
  // shown length of whole lines adds up.
  const shown = (s: string) => encode(s.endsWith('\n') ? s.slice(0, -1) : s).length;
  let current = '';
  let currentLength = 0; // encoded length of `current`, its newlines included
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const line of lines) {
    const lineShown = shown(line);
    if (currentLength + lineShown <= room) {
      current += line;
      currentLength += lineShown + (line.endsWith('\n') ? 1 : 0);
      continue;
    }
    if (current.length > 0) pieces.push(current);
    let rest = line;
    while (shown(rest) > room) {
      const piece = longestFitting(rest, room, encode);
      pieces.push(piece);
      rest = rest.slice(piece.length);
    }
    current = rest;
    currentLength = shown(rest) + (rest.endsWith('\n') ? 1 : 0);
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}

function chunked(
  text: string,
  heading: (part: number, of: number) => string,
  max: number,
  empty: string,
): string[] {
  const room = max - HEADING_RESERVE - CODE_BLOCK_OVERHEAD;
  const pieces = splitText(text, room);
  if (pieces.length === 0) return [`${heading(1, 1)}\n${empty}`];
  return pieces.map((piece, i) => {
    const body = codeText(piece.endsWith('\n') ? piece.slice(0, -1) : piece);
    return `${heading(i + 1, pieces.length)}\n${codeBlock(body)}`;
  });
}

function cleanText(text: string): string {
  return text.split('\n').map(cleanLine).join('\n');
}

export type ChunkOptions = {
  /** Largest chunk in characters (default and maximum CHUNK_MAX). */
  readonly max?: number;
};

/**
 * The complete plan output as thread messages (mrkdwn), in order. Nothing is
 * left out: concatenating the chunks' code contents gives back the whole plan
 * (colour codes removed).
 */
export function renderPlanChunks(
  run: RunView,
  planText: string,
  opts: ChunkOptions = {},
): string[] {
  const max = Math.min(opts.max ?? CHUNK_MAX, CHUNK_MAX);
  const title = fitEncoded(runTitle(run), 160, escapeMrkdwn);
  const id = fitEncoded(run.id, 60, codeText);
  const counts = run.plan !== null ? ` (${planCounts(run.plan)})` : '';
  return chunked(
    cleanText(planText),
    (part, of) =>
      `*Plan for ${title}*${part === 1 ? counts : ''} · run \`${id}\`${of > 1 ? ` · part ${part}/${of}` : ''}`,
    max,
    '_The plan output is empty._',
  );
}

export type LogChunkOptions = ChunkOptions & {
  /** A mrkdwn heading for every chunk, e.g. "*Log* of run `r-1`" (escaped by the caller). */
  readonly title?: string;
};

/** Log lines as thread messages (mrkdwn code blocks), in order, nothing left out. */
export function renderLogChunks(lines: readonly string[], opts: LogChunkOptions = {}): string[] {
  const max = Math.min(opts.max ?? CHUNK_MAX, CHUNK_MAX);
  const title = fitEncoded(opts.title ?? '*Log*', 200, (s) => s);
  return chunked(
    cleanText(lines.join('\n')),
    (part, of) => `${title}${of > 1 ? ` · part ${part}/${of}` : ''}`,
    max,
    '_No log lines._',
  );
}
