// `/deploy …` text → what was asked. Pure; quoting and `key=value` splitting
// are the core's (tokenize / splitAssignments), so Slack and the CLI agree.

import { ArgsError, splitAssignments, tokenize } from '../../../core/variables/args.ts';
import { closestName } from '../../../core/variables/validate.ts';

export const SUBCOMMANDS = [
  'help',
  'list',
  'status',
  'logs',
  'cancel',
  'destroy',
  'execute',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export const DEFAULT_LOG_LINES = 20;
export const MAX_LOG_LINES = 500;

export type DeployRequest =
  | { readonly kind: 'help'; readonly deployment: string | null }
  | { readonly kind: 'list' }
  | {
      readonly kind: 'run';
      readonly runKind: 'execute' | 'destroy';
      readonly deployment: string;
      readonly variables: Readonly<Record<string, string>>;
      /** The first word, when the deployment came without `execute` (for "did you mean"). */
      readonly bare: boolean;
    }
  | { readonly kind: 'status'; readonly target: string | null }
  | { readonly kind: 'logs'; readonly runId: string; readonly lines: number }
  | { readonly kind: 'cancel'; readonly runId: string; readonly reason: string | null }
  /** Wrong usage: what was wrong, and the usage of the sub-command. */
  | { readonly kind: 'usage'; readonly problem: string; readonly usage: readonly string[] };

export function usageOf(sub: Subcommand | 'run', command: string): string[] {
  switch (sub) {
    case 'help':
      return [`${command} help [<deployment>]`];
    case 'list':
      return [`${command} list`];
    case 'status':
      return [`${command} status [<deployment> | <run-id>]`];
    case 'logs':
      return [`${command} logs <run-id> [N]`];
    case 'cancel':
      return [`${command} cancel <run-id> [reason]`];
    case 'destroy':
      return [`${command} destroy <deployment> [name=value …]`];
    case 'execute':
    case 'run':
      return [
        `${command} <deployment> [name=value …]`,
        `${command} execute <deployment> [name=value …]`,
      ];
  }
}

const usage = (sub: Subcommand | 'run', command: string, problem: string): DeployRequest => ({
  kind: 'usage',
  problem,
  usage: usageOf(sub, command),
});

/** An empty or blank argument (`""`) counts as not given: a name, run id or number is never blank. */
function given(word: string | undefined): string | undefined {
  return word === undefined || word.trim() === '' ? undefined : word;
}

function isSubcommand(word: string): word is Subcommand {
  return (SUBCOMMANDS as readonly string[]).includes(word);
}

/** The sub-command a mistyped first word was probably meant to be. */
export function closestSubcommand(word: string): Subcommand | null {
  const near = closestName(word.toLowerCase(), SUBCOMMANDS);
  return near !== null && isSubcommand(near) ? near : null;
}

function runRequest(
  tokens: readonly string[],
  runKind: 'execute' | 'destroy',
  bare: boolean,
  command: string,
): DeployRequest {
  const sub = runKind === 'destroy' ? 'destroy' : 'run';
  const [first, ...rest] = tokens;
  const name = given(first);
  if (name === undefined || name.includes('=')) {
    return usage(sub, command, 'which deployment? Give its name first');
  }
  let parsed: ReturnType<typeof splitAssignments>;
  try {
    parsed = splitAssignments(rest);
  } catch (error) {
    if (error instanceof ArgsError) return usage(sub, command, error.message);
    throw error;
  }
  if (parsed.words.length > 0) {
    return usage(
      sub,
      command,
      `"${parsed.words[0]}" is not a variable: give variables as name=value, e.g. image_tag=1.4.2 (quote values with spaces: msg="hello world")`,
    );
  }
  return { kind: 'run', runKind, deployment: name, variables: parsed.assignments, bare };
}

export function parseDeployText(text: string, command = '/deploy'): DeployRequest {
  let tokens: string[];
  try {
    tokens = tokenize(text);
  } catch (error) {
    if (error instanceof ArgsError) return usage('run', command, error.message);
    throw error;
  }
  const [first, ...rest] = tokens;
  if (first === undefined) return { kind: 'help', deployment: null };
  const word = first.toLowerCase();
  if (!isSubcommand(word)) return runRequest(tokens, 'execute', true, command);
  switch (word) {
    case 'help':
      if (rest.length > 1) return usage('help', command, 'help takes at most one deployment name');
      return { kind: 'help', deployment: given(rest[0]) ?? null };
    case 'list':
      if (rest.length > 0) return usage('list', command, 'list takes no arguments');
      return { kind: 'list' };
    case 'status':
      if (rest.length > 1) return usage('status', command, 'status takes one run id or deployment');
      return { kind: 'status', target: given(rest[0]) ?? null };
    case 'logs': {
      const [id, count, ...extra] = rest;
      const runId = given(id);
      const n = given(count);
      if (runId === undefined)
        return usage('logs', command, 'which run? Give its id, e.g. run-7k2m9x4p');
      if (extra.length > 0)
        return usage('logs', command, 'logs takes a run id and a number of lines');
      let lines = DEFAULT_LOG_LINES;
      if (n !== undefined) {
        if (!/^\d{1,6}$/.test(n) || Number(n) < 1) {
          return usage('logs', command, `"${n}" is not a number of lines (1 to ${MAX_LOG_LINES})`);
        }
        lines = Math.min(Number(n), MAX_LOG_LINES);
      }
      return { kind: 'logs', runId, lines };
    }
    case 'cancel': {
      const [id, ...words] = rest;
      const runId = given(id);
      if (runId === undefined)
        return usage('cancel', command, 'which run? Give its id, e.g. run-7k2m9x4p');
      const reason = given(words.join(' ')) ?? null;
      return { kind: 'cancel', runId, reason };
    }
    case 'destroy':
      return runRequest(rest, 'destroy', false, command);
    case 'execute':
      return runRequest(rest, 'execute', false, command);
  }
}
