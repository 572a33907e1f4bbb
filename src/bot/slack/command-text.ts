// A slash command's `text` as Slack sends it → the text the person typed, for
// the core's tokenizer. Pure. Slack-only: the CLI gets its argv from a shell.

// Slack escapes exactly these three in `text`; one pass, so `&amp;lt;` → `&lt;`.
const ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

const DOUBLE = new Set(['"', '“', '”']);
const SINGLE = new Set(["'", '‘', '’']);
const WORDISH = /[\p{L}\p{N}]/u;

/**
 * Unescapes Slack's `&amp;` `&lt;` `&gt;`, and turns the typographic quotes
 * Slack clients put in for typed ones (“ ” ‘ ’, either way round, even
 * mixed with " ') back into " and ', so the tokenizer reads them exactly as
 * typed quotes: a backslash escapes inside “…” as inside "…".
 * Kept as they are: typographic quotes inside a region opened with a plain
 * " or ' (they were meant as text), escaped ones, and ’ between letters (it’s).
 */
export function slackCommandText(text: string): string {
  const raw = text.replace(/&(?:amp|lt|gt);/g, (entity) => ENTITIES[entity] ?? entity);
  let out = '';
  // The open quote: its kind, and whether it was a plain " or ' (then
  // typographic quotes inside are text, and only a plain one closes it).
  let open: { readonly double: boolean; readonly plain: boolean } | null = null;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    const apostrophe =
      ch === '’' && WORDISH.test(raw[i - 1] ?? '') && WORDISH.test(raw[i + 1] ?? '');
    // As in tokenize: a backslash escapes outside quotes and inside double ones.
    if (ch === '\\' && (open === null || open.double) && i + 1 < raw.length) {
      out += ch + raw[++i];
      continue;
    }
    const quote = DOUBLE.has(ch) ? '"' : SINGLE.has(ch) && !apostrophe ? "'" : null;
    if (open === null) {
      if (quote !== null) open = { double: quote === '"', plain: ch === quote };
      out += quote ?? ch;
      continue;
    }
    const closes = quote === (open.double ? '"' : "'") && (ch === quote || !open.plain);
    if (closes) open = null;
    out += closes ? quote : ch;
  }
  return out;
}
