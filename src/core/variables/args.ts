// Splits command text the way people type it in Slack or a shell:
// words separated by spaces, "double" or 'single' quotes keep spaces,
// a backslash escapes the next character. Slack's smart quotes count as quotes.

export type ParsedArgs = {
  readonly words: readonly string[];
  readonly assignments: Readonly<Record<string, string>>;
};

export class ArgsError extends Error {
  override readonly name = 'ArgsError';
}

const QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’' };

export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
      continue;
    }
    const close = QUOTES[ch];
    if (close !== undefined) {
      quote = close;
      inToken = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (quote !== null)
    throw new ArgsError(
      `unclosed quote ${quote === '”' ? '“' : quote}: close it, e.g. msg="hello world"`,
    );
  if (inToken) tokens.push(current);
  return tokens;
}

/** Separates plain words from `key=value` assignments. */
export function splitAssignments(tokens: readonly string[]): ParsedArgs {
  const words: string[] = [];
  // No prototype: a name like __proto__ is a key like any other.
  const assignments: Record<string, string> = Object.create(null);
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq <= 0) {
      words.push(token);
      continue;
    }
    const key = token.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new ArgsError(`"${key}" is not a variable name: use key=value, e.g. image_tag=1.4.2`);
    }
    if (Object.hasOwn(assignments, key)) throw new ArgsError(`${key} is given twice`);
    assignments[key] = token.slice(eq + 1);
  }
  return { words, assignments };
}

export function parseArgs(text: string): ParsedArgs {
  return splitAssignments(tokenize(text));
}
