// Small formatting helpers shared by the renderers: mentions, dates, durations,
// code blocks and excerpts that always fit the length they are given.

import type { SourceSummary } from '../../core/api/types.ts';
import { isSystemActor } from '../../core/text/plan.ts';
import { escapeMrkdwn, safePrefix, truncate, truncateMrkdwn } from './limits.ts';

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*(?:\u0007|\u001b\\)/g;

/** A person as mrkdwn: a Slack mention for a user id, escaped text otherwise. */
export function mention(id: string): string {
  if (SLACK_USER_ID.test(id)) return `<@${id}>`;
  if (isSystemActor(id)) return 'the system';
  return truncateMrkdwn(id, 80);
}

/** `<@U…>` for users, `<!subteam^S…>` for user groups. */
export function mentionOf(id: string): string {
  return id.startsWith('S') ? `<!subteam^${id}>` : mention(id);
}

/** An ISO time as a Slack date token (shown in the reader's time zone), with a UTC fallback. */
export function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return truncateMrkdwn(iso, 40);
  const unix = Math.floor(ms / 1000);
  const fallback = `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${unix}^{date_short_pretty} {time}|${fallback}>`;
}

/** Terminal colour codes and carriage returns are noise in Slack. */
export function cleanLine(line: string): string {
  return line.replace(ANSI, '').replace(/\r/g, '').replace(/\t/g, '  ');
}

/** Keeps a code block closed: a ``` inside the content would end it early. */
export function neutralizeFences(text: string): string {
  return text.replace(/```/g, '`\u200b`\u200b`');
}

/** Text for inside a mrkdwn code block: escaped, fences neutralized. */
export function codeText(raw: string): string {
  return neutralizeFences(escapeMrkdwn(raw));
}

export function codeBlock(body: string): string {
  return `\`\`\`\n${body.length > 0 ? body : ' '}\n\`\`\``;
}

/** Characters `codeBlock` adds around its body. */
export const CODE_BLOCK_OVERHEAD = 8;

/**
 * Shortens raw text to show its beginning and its end with a marker saying how
 * much was left out (errors carry their cause at the start and the detail at the end).
 */
export function excerpt(raw: string, max: number): string {
  if (raw.length <= max) return raw;
  const marker = (n: number) => `\n… ${n} characters left out …\n`;
  const room = max - marker(raw.length).length;
  if (room < 20) return truncate(raw, max);
  const headLength = Math.ceil(room * 0.7);
  const head = safePrefix(raw, headLength);
  let tailStart = raw.length - (room - head.length);
  const code = raw.charCodeAt(tailStart);
  if (code >= 0xdc00 && code <= 0xdfff) tailStart += 1;
  const tail = raw.slice(tailStart);
  return head + marker(raw.length - head.length - tail.length) + tail;
}

/**
 * Fits `raw` into `max` characters after `encode` (escaping can grow the text):
 * shortens with `shorten` until the encoded result fits.
 */
export function fitEncoded(
  raw: string,
  max: number,
  encode: (text: string) => string,
  shorten: (text: string, max: number) => string = truncate,
): string {
  let budget = max;
  for (let i = 0; i < 20; i++) {
    const out = encode(shorten(raw, budget));
    if (out.length <= max) return out;
    budget = Math.max(0, Math.floor((budget * max) / out.length) - 1);
  }
  return '';
}

/** A code block with an excerpt of `raw` whose whole length (fences included) is at most `max`. */
export function codeExcerpt(raw: string, max: number): string {
  const cleaned = raw.split('\n').map(cleanLine).join('\n');
  return codeBlock(fitEncoded(cleaned, max - CODE_BLOCK_OVERHEAD, codeText, excerpt));
}

/**
 * The last lines of a log as a code block of at most `max` characters: each line
 * cut to `lineMax`, older lines dropped first with a note saying how many.
 */
export function logTailBlock(lines: readonly string[], max: number, lineMax = 300): string {
  const room = max - CODE_BLOCK_OVERHEAD;
  const kept: string[] = [];
  let used = 0;
  let index = lines.length - 1;
  for (; index >= 0; index--) {
    const line = fitEncoded(cleanLine(lines[index] ?? ''), lineMax, codeText);
    const cost = line.length + (kept.length > 0 ? 1 : 0);
    // Leave room for the "earlier lines" note.
    if (used + cost > room - 40) break;
    kept.push(line);
    used += cost;
  }
  kept.reverse();
  const dropped = index + 1;
  if (dropped > 0) kept.unshift(`… ${dropped} earlier line${dropped === 1 ? '' : 's'}`);
  return codeBlock(kept.join('\n'));
}

export function shortCommit(commit: string | null): string | null {
  return commit === null ? null : commit.slice(0, 7);
}

/** "`main`@`abc1234` in repo-url" or "`path`" for a directory, as mrkdwn of at most `max`. */
export function sourceText(source: SourceSummary, max: number): string {
  if (source.kind === 'directory') {
    return `\`${fitEncoded(source.location, max - 2, codeText)}\``;
  }
  const ref = fitEncoded(source.gitRef ?? '(default ref)', 60, codeText);
  const commit = shortCommit(source.commit);
  const at = commit === null ? '' : `@\`${codeText(commit)}\``;
  const base =
    source.baseDirectory !== null && source.baseDirectory !== '.' && source.baseDirectory !== ''
      ? ` (${fitEncoded(source.baseDirectory, 60, escapeMrkdwn)})`
      : '';
  const head = `\`${ref}\`${at}${base}`;
  const room = max - head.length - 4;
  if (room < 10) return truncate(head, max);
  return `${head} in ${fitEncoded(source.location, room, escapeMrkdwn)}`;
}

/** A value on one line for mrkdwn, at most `max` characters. */
export function inlineValue(value: unknown, max: number): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return fitEncoded(text.replace(/\r?\n/g, ' ⏎ '), max, escapeMrkdwn);
}
