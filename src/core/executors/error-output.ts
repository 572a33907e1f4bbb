// What a failed step said about its failure, for the run's `error`: Terraform's
// (and OpenTofu's) `Error:` diagnostics when there are any, else its last stderr
// lines, else its last stdout lines. Bounded while the step runs (a step may
// print gigabytes) and at most a few kB in the end, redacted before it is cut.

import type { OutputStream as StepStream } from './launch.ts';

/** The most the run's error carries of the step's own output. */
export const ERROR_OUTPUT_MAX = 2048;
const LINE_MAX = 400;
const TAIL_LINES = 12;
const STDOUT_TAIL_LINES = 5;
const BLOCK_LINES = 20;
const BLOCKS_KEPT = 5;

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*(?:\u0007|\u001b\\)/g;
/** Terraform draws a box around each diagnostic: ╷ above, │ on each line, ╵ below. */
const BOX_LINE = /^\s*│ ?/;
const BOX_END = /^\s*╵\s*$/;
const BOX_START = /^\s*╷\s*$/;
const DIAGNOSTIC = /^(Error|Warning): /;
const NOT_BLANK = /\S/;
/** First characters of a line that may open or close a diagnostic: E(rror), W(arning), ╷ │ ╵, ESC (colour). */
const MAY_START_DIAGNOSTIC = new Set([0x45, 0x57, 0x2577, 0x2502, 0x2575, 0x1b]);

function clean(line: string): string {
  return line.replace(ANSI, '').replace(/\t/g, '  ').trimEnd();
}

/** Keeps the last `max` items pushed (a ring: a push costs the same at any length). */
class Tail<T> {
  private readonly ring: T[] = [];
  private next = 0;
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  push(item: T) {
    this.ring[this.next] = item;
    this.next = (this.next + 1) % this.max;
  }
  /** Oldest first. */
  get items(): T[] {
    return this.ring.length < this.max
      ? [...this.ring]
      : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}

export class ErrorOutput {
  private readonly blocks = new Tail<string[]>(BLOCKS_KEPT);
  private open: string[] | null = null;
  private readonly stderr = new Tail<string>(TAIL_LINES);
  private readonly stdout = new Tail<string>(STDOUT_TAIL_LINES);

  add(stream: StepStream, raw: string): void {
    // Most lines start with neither a diagnostic nor Terraform's box: those cost
    // a character test here and are cleaned only if shown.
    if (this.open !== null || MAY_START_DIAGNOSTIC.has(raw.charCodeAt(0))) this.diagnostic(raw);
    const first = raw.charCodeAt(0);
    if (Number.isNaN(first) || (first <= 32 && !NOT_BLANK.test(raw))) return;
    (stream === 'stderr' ? this.stderr : this.stdout).push(raw);
  }

  private diagnostic(raw: string): void {
    const line = clean(raw);
    if (BOX_START.test(line) || BOX_END.test(line)) {
      this.open = null;
      return;
    }
    const text = line.replace(BOX_LINE, '');
    const diagnostic = DIAGNOSTIC.exec(text);
    if (diagnostic) {
      this.open = diagnostic[1] === 'Error' ? [text] : null;
      if (this.open) this.blocks.push(this.open);
    } else if (this.open) {
      this.open.push(text);
      // A full block takes no more lines (nor the time to look at them).
      if (this.open.length >= BLOCK_LINES) this.open = null;
    }
  }

  /**
   * The output to show (redacted, then cut to ERROR_OUTPUT_MAX characters,
   * the newest kept), or null when the step printed nothing useful.
   */
  text(redact: (text: string) => string = (t) => t): string | null {
    const blocks = this.blocks.items.map((block) => trimBlank(block).join('\n'));
    const chosen =
      blocks.length > 0
        ? blocks
        : (this.stderr.items.length > 0 ? this.stderr.items : this.stdout.items).map((line) =>
            clean(line).replace(BOX_LINE, ''),
          );
    const lines = chosen
      .join('\n')
      .split('\n')
      .map((line) => cut(redact(line), LINE_MAX));
    return newest(lines, ERROR_OUTPUT_MAX);
  }
}

function trimBlank(lines: readonly string[]): string[] {
  let end = lines.length;
  while (end > 0 && (lines[end - 1] ?? '').trim() === '') end--;
  return lines.slice(0, end);
}

function cut(line: string, max: number): string {
  if (line.length <= max) return line;
  let end = max - 1;
  const code = line.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${line.slice(0, end)}…`;
}

/** The last lines that fit in `max` characters; null for none. */
function newest(lines: readonly string[], max: number): string | null {
  const kept: string[] = [];
  let used = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    if (used + line.length + 1 > max) break;
    kept.unshift(line);
    used += line.length + 1;
  }
  const text = kept.join('\n').trim();
  return text === '' ? null : text;
}
