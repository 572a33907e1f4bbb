// A small VT100/xterm screen: enough of the escape sequences Ink writes (cursor
// moves, erase, alternate screen, colours ignored) to know what a person would
// see in the terminal right now, rather than grepping a stream of frames.

import { graphemeWidth } from '../../src/tui/text/width.ts';

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

export class Screen {
  columns: number;
  rows: number;
  private grid: string[][];
  private main: string[][] | null = null;
  private x = 0;
  private y = 0;
  private saved = { x: 0, y: 0 };
  private pending = '';
  private wrapPending = false;
  /** Everything written, for checks on the raw stream (e.g. no colour codes). */
  raw = '';

  constructor(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.grid = this.blank();
  }

  private blank(): string[][] {
    return Array.from({ length: this.rows }, () => new Array<string>(this.columns).fill(' '));
  }

  resize(columns: number, rows: number) {
    const old = this.grid;
    this.columns = columns;
    this.rows = rows;
    this.grid = this.blank();
    for (let y = 0; y < Math.min(rows, old.length); y++) {
      for (let x = 0; x < Math.min(columns, old[y]!.length); x++) this.grid[y]![x] = old[y]![x]!;
    }
    this.x = Math.min(this.x, columns - 1);
    this.y = Math.min(this.y, rows - 1);
  }

  /** The screen as text, one line per row, trailing spaces removed. */
  text(): string {
    return this.grid
      .map((row) =>
        row
          .filter((c) => c !== '')
          .join('')
          .trimEnd(),
      )
      .join('\n');
  }

  write(data: string) {
    this.raw += data;
    let s = this.pending + data;
    this.pending = '';
    let i = 0;
    while (i < s.length) {
      const ch = s[i]!;
      if (ch === '\u001b') {
        const consumed = this.escape(s, i);
        if (consumed === 0) {
          this.pending = s.slice(i);
          return;
        }
        i += consumed;
        continue;
      }
      if (ch === '\r') {
        this.x = 0;
        this.wrapPending = false;
      } else if (ch === '\n') {
        this.lineFeed();
      } else if (ch === '\b') {
        this.x = Math.max(0, this.x - 1);
        this.wrapPending = false;
      } else if (ch === '\t') {
        this.x = Math.min(this.columns - 1, (Math.floor(this.x / 8) + 1) * 8);
      } else if (ch.charCodeAt(0) < 0x20 || ch === '\u007f') {
        // Other controls (BEL…) draw nothing.
      } else {
        // One grapheme (a base and its combining marks, or a surrogate pair).
        const rest = s.slice(i, i + 16);
        const seg = segmenter.segment(rest)[Symbol.iterator]().next().value?.segment ?? ch;
        if (seg.includes('\u001b')) {
          this.put(ch);
          i += 1;
          continue;
        }
        this.put(seg);
        i += seg.length;
        continue;
      }
      i++;
    }
    s = '';
  }

  private put(g: string) {
    const w = Math.max(1, graphemeWidth(g));
    if (this.wrapPending || this.x + w > this.columns) {
      this.x = 0;
      this.lineFeed();
      this.wrapPending = false;
    }
    const row = this.grid[this.y]!;
    row[this.x] = g;
    if (w === 2 && this.x + 1 < this.columns) row[this.x + 1] = '';
    this.x += w;
    if (this.x >= this.columns) {
      this.x = this.columns - 1;
      this.wrapPending = true;
    }
  }

  private lineFeed() {
    this.wrapPending = false;
    if (this.y === this.rows - 1) {
      this.grid.shift();
      this.grid.push(new Array<string>(this.columns).fill(' '));
    } else {
      this.y++;
    }
  }

  private eraseCells(y: number, from: number, to: number) {
    const row = this.grid[y];
    if (!row) return;
    for (let x = Math.max(0, from); x < Math.min(this.columns, to); x++) row[x] = ' ';
  }

  /** Handles the escape sequence at s[i]; returns its length, or 0 when it is incomplete. */
  private escape(s: string, i: number): number {
    const next = s[i + 1];
    if (next === undefined) return 0;
    if (next === '[') {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: an escape sequence is what it matches
      const m = /^\u001b\[([?<>=!]?)([0-9;:]*)([ -/]*)([@-~])/.exec(s.slice(i, i + 64));
      if (!m) return s.length - i < 64 ? 0 : 2;
      this.csi(m[1]!, m[2]!, m[4]!);
      return m[0].length;
    }
    if (next === ']' || next === 'P' || next === '_') {
      // OSC / DCS / APC: up to BEL or ST.
      const rest = s.slice(i + 2);
      const bel = next === ']' ? rest.indexOf('\u0007') : -1;
      const st = rest.indexOf('\u001b\\');
      const end = [bel, st].filter((n) => n >= 0).sort((a, b) => a - b)[0];
      if (end === undefined) return 0;
      return 2 + end + (end === st ? 2 : 1);
    }
    if (next === '(' || next === ')') return s.length - i < 3 ? 0 : 3;
    if (next === '7') this.saved = { x: this.x, y: this.y };
    else if (next === '8') {
      this.x = this.saved.x;
      this.y = this.saved.y;
    } else if (next === 'M') {
      if (this.y === 0) {
        this.grid.pop();
        this.grid.unshift(new Array<string>(this.columns).fill(' '));
      } else this.y--;
    } else if (next === 'c') {
      this.grid = this.blank();
      this.x = 0;
      this.y = 0;
    }
    return 2;
  }

  private csi(prefix: string, params: string, final: string) {
    const nums = params.split(/[;:]/).map((p) => (p === '' ? Number.NaN : Number(p)));
    const n = (index: number, fallback: number) => {
      const v = nums[index];
      return v === undefined || Number.isNaN(v) ? fallback : v;
    };
    this.wrapPending = false;
    if (prefix === '?') {
      if ((final === 'h' || final === 'l') && [1049, 1047, 47].includes(n(0, 0))) {
        if (final === 'h' && !this.main) {
          this.main = this.grid;
          this.grid = this.blank();
        } else if (final === 'l' && this.main) {
          this.grid = this.main;
          this.main = null;
        }
      }
      return;
    }
    if (prefix !== '') return;
    switch (final) {
      case 'A':
        this.y = Math.max(0, this.y - n(0, 1));
        break;
      case 'B':
        this.y = Math.min(this.rows - 1, this.y + n(0, 1));
        break;
      case 'C':
        this.x = Math.min(this.columns - 1, this.x + n(0, 1));
        break;
      case 'D':
        this.x = Math.max(0, this.x - n(0, 1));
        break;
      case 'E':
        this.y = Math.min(this.rows - 1, this.y + n(0, 1));
        this.x = 0;
        break;
      case 'F':
        this.y = Math.max(0, this.y - n(0, 1));
        this.x = 0;
        break;
      case 'G':
        this.x = Math.min(this.columns - 1, Math.max(0, n(0, 1) - 1));
        break;
      case 'd':
        this.y = Math.min(this.rows - 1, Math.max(0, n(0, 1) - 1));
        break;
      case 'H':
      case 'f':
        this.y = Math.min(this.rows - 1, Math.max(0, n(0, 1) - 1));
        this.x = Math.min(this.columns - 1, Math.max(0, n(1, 1) - 1));
        break;
      case 'J': {
        const mode = n(0, 0);
        if (mode === 0) {
          this.eraseCells(this.y, this.x, this.columns);
          for (let y = this.y + 1; y < this.rows; y++) this.eraseCells(y, 0, this.columns);
        } else if (mode === 1) {
          for (let y = 0; y < this.y; y++) this.eraseCells(y, 0, this.columns);
          this.eraseCells(this.y, 0, this.x + 1);
        } else {
          for (let y = 0; y < this.rows; y++) this.eraseCells(y, 0, this.columns);
        }
        break;
      }
      case 'K': {
        const mode = n(0, 0);
        if (mode === 0) this.eraseCells(this.y, this.x, this.columns);
        else if (mode === 1) this.eraseCells(this.y, 0, this.x + 1);
        else this.eraseCells(this.y, 0, this.columns);
        break;
      }
      case 'S':
        for (let k = 0; k < n(0, 1); k++) {
          this.grid.shift();
          this.grid.push(new Array<string>(this.columns).fill(' '));
        }
        break;
      case 'T':
        for (let k = 0; k < n(0, 1); k++) {
          this.grid.pop();
          this.grid.unshift(new Array<string>(this.columns).fill(' '));
        }
        break;
      case 's':
        this.saved = { x: this.x, y: this.y };
        break;
      case 'u':
        this.x = this.saved.x;
        this.y = this.saved.y;
        break;
      default:
        // m (colours), r (scroll region), n, t…: nothing to draw.
        break;
    }
  }
}
