// Turns what a deployment's plan step wrote into a plan summary: how many objects
// will be added, changed and destroyed, and which. Two inputs are understood:
//
//  - a changes document: {"changes":[{"address":"aws_instance.web","action":"create"}]}
//  - a Terraform / OpenTofu JSON plan, as printed by `terraform show -json plan.out`
//
// Counting follows Terraform's own "Plan: X to add, Y to change, Z to destroy"
// line. Only addresses and actions are read from a plan; before/after values
// (which hold sensitive values in clear text) are never copied, so a summary
// cannot leak them. Pure: no I/O.

import { z } from 'zod';
import { CHANGE_ACTIONS, type ChangeAction, type PlannedChange } from '../api/types.ts';
import { truncate } from '../text/width.ts';

export type PlanSummary = {
  /** False when the plan step wrote no file: the counts are unknown. */
  known: boolean;
  add: number;
  change: number;
  destroy: number;
  /** Creates, updates, replaces, deletes; each group sorted by address. */
  changes: PlannedChange[];
  /** True when applying the plan would do nothing at all. */
  noChanges: boolean;
};

/** A plan file that cannot be summarized: says what is wrong and where. */
export class PlanDocumentError extends Error {
  override readonly name = 'PlanDocumentError';
  /** Every problem found, one sentence each (the message shows the first few). */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [message]) {
    super(message);
    this.problems = problems;
  }
}

const noPlannedChanges: PlannedChange[] = [];
Object.freeze(noPlannedChanges);

/** The plan step wrote no file: nothing is known about the changes. */
export const UNKNOWN_PLAN: PlanSummary = Object.freeze({
  known: false,
  add: 0,
  change: 0,
  destroy: 0,
  changes: noPlannedChanges,
  noChanges: false,
});

const LABEL = 'plan file';
const MAX_PROBLEMS_SHOWN = 10;

// ---------------------------------------------------------------------------
// Auto-detection

/** Parses the plan step's file and summarizes it, whichever of the two formats it is. */
export function summarizePlanDocument(text: string): PlanSummary {
  const doc = parseJson(text);
  if (!isPlainObject(doc)) {
    throw problem(`expected a JSON object at the top level, got ${typeName(doc)}`);
  }
  if ('format_version' in doc || 'resource_changes' in doc || 'planned_values' in doc) {
    return summarizeTerraformPlan(doc);
  }
  if ('changes' in doc) return summarizeChangesDocument(doc);
  const keys = Object.keys(doc);
  const shown = keys.length === 0 ? 'none' : keys.slice(0, 8).map(quote).join(', ');
  throw problem(
    'neither a changes document (no "changes" key) nor a Terraform JSON plan ' +
      `(no "format_version" key); top-level keys: ${shown}${keys.length > 8 ? ', …' : ''}`,
  );
}

// ---------------------------------------------------------------------------
// Changes document

const changesDocumentSchema = z.object({
  changes: z.array(
    z.object({
      address: z.string().min(1),
      action: z.enum(CHANGE_ACTIONS),
    }),
  ),
});

/** Summarizes {"changes":[{"address","action"}]}. An empty list means no changes. */
export function summarizeChangesDocument(doc: unknown): PlanSummary {
  const parsed = changesDocumentSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw issuesError(parsed.error.issues, doc);
  const changes = parsed.data.changes.map(({ address, action }) => ({ address, action }));
  return summaryOf(changes, false);
}

// ---------------------------------------------------------------------------
// Terraform / OpenTofu JSON plan

/** Every value Terraform writes in `change.actions` (JSON plan format 1.x). */
const TERRAFORM_ACTIONS = ['no-op', 'create', 'read', 'update', 'delete', 'forget'] as const;

/**
 * What each action list means for the summary line; null = not counted.
 * ["create","forget"] (replace, keeping the old object out of state) is
 * counted by Terraform as 1 to add and nothing to destroy, so it is a create.
 */
const ACTION_LISTS: ReadonlyMap<string, ChangeAction | null> = new Map([
  ['no-op', null],
  ['read', null],
  ['forget', null],
  ['create', 'create'],
  ['update', 'update'],
  ['delete', 'delete'],
  ['delete,create', 'replace'],
  ['create,delete', 'replace'],
  ['create,forget', 'create'],
]);

const actionsSchema = z.array(z.enum(TERRAFORM_ACTIONS)).min(1);

const resourceChangeSchema = z
  .object({
    address: z.string().min(1),
    previous_address: z.string().optional(),
    mode: z.string().optional(),
    change: z.object({
      actions: actionsSchema,
      importing: z.object({}).nullable().optional(),
    }),
  })
  .superRefine((entry, ctx) => {
    const { actions } = entry.change;
    if (actions.length > 0 && !ACTION_LISTS.has(actions.join(','))) {
      ctx.addIssue({
        code: 'custom',
        path: ['change', 'actions'],
        message: `unsupported combination of actions ${JSON.stringify(actions)}`,
      });
    }
  });

const terraformPlanSchema = z.object({
  format_version: z.string().refine((v) => /^1\.\d+$/.test(v), {
    error: (issue) =>
      `unsupported plan format ${describeValue(issue.input)}: only Terraform JSON plan format 1.x is understood`,
  }),
  resource_changes: z.array(resourceChangeSchema).optional(),
  output_changes: z.record(z.string(), z.object({ actions: actionsSchema })).optional(),
  action_invocations: z.array(z.object({})).optional(),
  errored: z.boolean().optional(),
});

/** Summarizes the output of `terraform show -json plan.out` (or `tofu show -json`). */
export function summarizeTerraformPlan(doc: unknown): PlanSummary {
  if (isPlainObject(doc) && 'values' in doc && !('planned_values' in doc)) {
    throw problem(
      'this is a Terraform state, not a plan (it has "values" but no "planned_values"); ' +
        'run `terraform show -json` with the saved plan file',
    );
  }
  const parsed = terraformPlanSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw issuesError(parsed.error.issues, doc);
  const plan = parsed.data;
  if (plan.errored === true) {
    throw problem('errored: planning failed, so the plan is incomplete and cannot be used');
  }

  const changes: PlannedChange[] = [];
  // Things Terraform would apply without adding, changing or destroying anything.
  let otherWork = false;
  for (const entry of plan.resource_changes ?? []) {
    const key = entry.change.actions.join(',');
    if (entry.mode === 'data') continue; // data sources are read, never counted
    const action = ACTION_LISTS.get(key) ?? null;
    if (action !== null) changes.push({ address: entry.address, action });
    if (key === 'forget') otherWork = true;
    if (entry.change.importing != null) otherWork = true;
    if (entry.previous_address !== undefined && entry.previous_address !== entry.address) {
      otherWork = true;
    }
  }
  for (const output of Object.values(plan.output_changes ?? {})) {
    if (output.actions.join(',') !== 'no-op') otherWork = true;
  }
  if ((plan.action_invocations ?? []).length > 0) otherWork = true;
  return summaryOf(changes, otherWork);
}

// ---------------------------------------------------------------------------
// Building the summary

const GROUP_ORDER: Readonly<Record<ChangeAction, number>> = {
  create: 0,
  update: 1,
  replace: 2,
  delete: 3,
};

function summaryOf(changes: PlannedChange[], otherWork: boolean): PlanSummary {
  let add = 0;
  let change = 0;
  let destroy = 0;
  for (const c of changes) {
    if (c.action === 'create' || c.action === 'replace') add++;
    if (c.action === 'update') change++;
    if (c.action === 'delete' || c.action === 'replace') destroy++;
  }
  changes.sort(
    (a, b) =>
      GROUP_ORDER[a.action] - GROUP_ORDER[b.action] || compareAddresses(a.address, b.address),
  );
  return {
    known: true,
    add,
    change,
    destroy,
    changes,
    noChanges: changes.length === 0 && !otherWork,
  };
}

/**
 * Code-unit order, except that runs of digits compare as numbers, so
 * aws_instance.web[2] comes before aws_instance.web[10].
 */
function compareAddresses(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (isDigitAt(a, i) && isDigitAt(b, j)) {
      const startA = i;
      const startB = j;
      while (isDigitAt(a, i)) i++;
      while (isDigitAt(b, j)) j++;
      const runA = a.slice(startA, i).replace(/^0+(?=\d)/, '');
      const runB = b.slice(startB, j).replace(/^0+(?=\d)/, '');
      if (runA.length !== runB.length) return runA.length - runB.length;
      if (runA !== runB) return runA < runB ? -1 : 1;
      continue;
    }
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  if (a.length - i !== b.length - j) return a.length - i - (b.length - j);
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDigitAt(s: string, index: number): boolean {
  const c = s.charCodeAt(index);
  return c >= 48 && c <= 57;
}

// ---------------------------------------------------------------------------
// Errors

function problem(message: string): PlanDocumentError {
  return new PlanDocumentError(`${LABEL}: ${message}`);
}

function issuesError(issues: readonly z.core.$ZodIssue[], doc: unknown): PlanDocumentError {
  const problems = issues.map((issue) => {
    const where = formatPath(issue.path);
    const what = describeIssue(issue) + resourceContext(doc, issue.path);
    return where === '' ? `${LABEL}: ${what}` : `${LABEL}: ${where}: ${what}`;
  });
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
  const more = problems.length - shown.length;
  const message = more > 0 ? `${shown.join('\n')}\n… and ${more} more problems` : shown.join('\n');
  return new PlanDocumentError(message, problems);
}

/**
 * Says what is wrong without quoting document values, except short strings where
 * an enumeration was expected (action names, format versions): never a value from
 * before/after, which are not even read.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `missing (expected ${article(issue.expected)})`;
      return `expected ${article(issue.expected)}, got ${typeName(issue.input)}`;
    case 'invalid_value': {
      const expected = `one of ${issue.values.map(String).join(', ')}`;
      if (issue.input === undefined) return `missing (expected ${expected})`;
      return `expected ${expected}, got ${describeValue(issue.input)}`;
    }
    case 'too_small':
      if (issue.origin === 'array' && issue.minimum === 1) return 'must not be an empty list';
      if (issue.origin === 'string' && issue.minimum === 1) return 'must not be empty';
      return issue.message;
    default:
      return issue.message;
  }
}

/** " (resource aws_instance.web)" for a problem inside resource_changes[n]. */
function resourceContext(doc: unknown, issuePath: readonly PropertyKey[]): string {
  const [list, index, field] = issuePath;
  if (list !== 'resource_changes' || typeof index !== 'number' || field === 'address') return '';
  if (!isPlainObject(doc) || !Array.isArray(doc.resource_changes)) return '';
  const entry: unknown = doc.resource_changes[index];
  if (!isPlainObject(entry) || typeof entry.address !== 'string') return '';
  return ` (resource ${truncate(entry.address, 200)})`;
}

/** `resource_changes[3].change.actions[0]`, `output_changes["my-output"].actions`. */
function formatPath(issuePath: readonly PropertyKey[]): string {
  let out = '';
  for (const key of issuePath) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(String(key))) {
      out += out === '' ? String(key) : `.${String(key)}`;
    } else out += `[${quote(String(key))}]`;
  }
  return out;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeName(value);
}

function quote(value: string): string {
  return JSON.stringify(truncate(value, 60));
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------
// JSON

function parseJson(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw problem('is empty');
  try {
    return JSON.parse(body);
  } catch (error) {
    throw problem(`not valid JSON: ${describeJsonError(body, error)}${formatHint(body)}`);
  }
}

/**
 * V8's "Unexpected token" messages quote the text around the error, which may be
 * a secret; those are replaced by a located message of our own.
 */
function describeJsonError(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/ at position \d+/.test(message) && !message.includes('"')) return message;
  const offset = syntaxErrorOffset(text);
  if (offset === null) return 'syntax error';
  if (offset >= text.length) return `unexpected end of input at ${lineColumn(text, offset)}`;
  return `unexpected character ${JSON.stringify(text[offset])} at ${lineColumn(text, offset)}`;
}

function formatHint(text: string): string {
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') return '';
  return ' (a JSON plan starts with "{"; was the human-readable plan saved instead of `terraform show -json`?)';
}

function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line} column ${offset - lineStart + 1}`;
}

/** Offset of the first JSON syntax error (text.length for a premature end); null when valid. */
function syntaxErrorOffset(text: string): number | null {
  let i = 0;
  const n = text.length;
  const skipWhitespace = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return;
      i++;
    }
  };
  const digits = (): boolean => {
    if (!isDigitAt(text, i)) return false;
    while (isDigitAt(text, i)) i++;
    return true;
  };
  const literal = (word: string): boolean => {
    for (const ch of word) {
      if (text[i] !== ch) return false;
      i++;
    }
    return true;
  };
  const string = (): boolean => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return true;
      }
      if (c < 32) return false;
      if (c !== 92) {
        i++;
        continue;
      }
      const escaped = text[i + 1];
      if (escaped === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return false;
        i += 6;
      } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) i += 2;
      else return false;
    }
    return false;
  };
  const number = (): boolean => {
    if (text[i] === '-') i++;
    if (text[i] === '0') i++;
    else if (!digits()) return false;
    if (text[i] === '.') {
      i++;
      if (!digits()) return false;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (!digits()) return false;
    }
    return true;
  };
  const value = (): boolean => {
    skipWhitespace();
    const c = text[i];
    if (c === '{') return container('}', true);
    if (c === '[') return container(']', false);
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || isDigitAt(text, i)) return number();
    return false;
  };
  const container = (close: string, isObject: boolean): boolean => {
    i++;
    skipWhitespace();
    if (text[i] === close) {
      i++;
      return true;
    }
    for (;;) {
      if (isObject) {
        skipWhitespace();
        if (text[i] !== '"' || !string()) return false;
        skipWhitespace();
        if (text[i] !== ':') return false;
        i++;
      }
      if (!value()) return false;
      skipWhitespace();
      if (text[i] === close) {
        i++;
        return true;
      }
      if (text[i] !== ',') return false;
      i++;
    }
  };
  try {
    if (value()) {
      skipWhitespace();
      if (i === n) return null;
    }
  } catch {
    return null; // nesting too deep for the stack: no position to offer
  }
  return i;
}
