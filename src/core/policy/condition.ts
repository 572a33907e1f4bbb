// Policy conditions in CEL (the expression language of Kubernetes admission
// policies and Google IAM), behind this small interface: compile once at config
// load (parse and type-check against the declared variables), evaluate at each
// decision. The library is @marcbachmann/cel-js; nothing else imports it.

import { Environment } from '@marcbachmann/cel-js';

/** What a condition can see. Sensitive variables are never in `run.variables`. */
export type ConditionInput = {
  readonly deployment: { readonly name: string; readonly environment: string };
  readonly run: {
    readonly kind: string;
    readonly requestedBy: string;
    readonly via: string;
    readonly variables: Readonly<Record<string, string | number | boolean>>;
    readonly plan: {
      readonly known: boolean;
      readonly add: number;
      readonly change: number;
      readonly destroy: number;
      readonly changes: readonly { readonly address: string; readonly action: string }[];
    };
  };
  readonly approvals: readonly { readonly stage: string; readonly by: string }[];
  /** The decision's time in the config's time zone. */
  readonly now: {
    readonly weekday: string;
    readonly hour: number;
    readonly minute: number;
    /** YYYY-MM-DD */
    readonly date: string;
  };
};

/** A condition that did not compile: where (1-based column) and why. */
export type ConditionProblem = { readonly column: number; readonly message: string };

export type Condition = {
  readonly source: string;
  /** True or false; throws a ConditionFailure when the expression fails at run time. */
  evaluate(input: ConditionInput): boolean;
};

/** A condition that failed while evaluated (a missing key, a division by zero). */
export class ConditionFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConditionFailure';
  }
}

// Counts are doubles (JavaScript numbers); hours and minutes are ints, so that
// `now.hour >= 15` type-checks as people write it.
const environment = new Environment({ unlistedVariablesAreDyn: false })
  .registerVariable({
    name: 'deployment',
    schema: { name: 'string', environment: 'string' },
  })
  .registerVariable({
    name: 'run',
    schema: {
      kind: 'string',
      requestedBy: 'string',
      via: 'string',
      variables: 'map<string, dyn>',
      plan: {
        known: 'bool',
        add: 'double',
        change: 'double',
        destroy: 'double',
        changes: 'list<map<string, string>>',
      },
    },
  })
  .registerVariable('approvals', 'list<map<string, string>>')
  .registerVariable({
    name: 'now',
    schema: { weekday: 'string', hour: 'int', minute: 'int', date: 'string' },
  });

type CelFailure = { summary?: string; message: string; range?: { start: number } | null };

function problemOf(error: CelFailure): ConditionProblem {
  const start = error.range?.start;
  return {
    column: typeof start === 'number' ? start + 1 : 1,
    message: error.summary ?? error.message.split('\n')[0] ?? 'invalid expression',
  };
}

/** Parses and type-checks; the condition must be a bool. */
export function compileCondition(source: string): Condition | ConditionProblem {
  const checked = environment.check(source) as {
    valid: boolean;
    type?: string;
    error?: CelFailure;
  };
  if (!checked.valid) return problemOf(checked.error ?? { message: 'invalid expression' });
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    const type = checked.type ?? 'value';
    const article = /^[aeiou]/.test(type) ? 'an' : 'a';
    return {
      column: 1,
      message: `a condition must be true or false, this one is ${article} ${type}`,
    };
  }
  const program = environment.parse(source);
  return {
    source,
    evaluate(input) {
      let value: unknown;
      try {
        value = program(celInput(input));
      } catch (error) {
        const problem = problemOf(error as CelFailure);
        throw new ConditionFailure(`${problem.message} (column ${problem.column})`, {
          cause: error,
        });
      }
      if (typeof value !== 'boolean') {
        throw new ConditionFailure(`the condition gave ${typeof value}, not true or false`);
      }
      return value;
    },
  };
}

export function isConditionProblem(value: Condition | ConditionProblem): value is ConditionProblem {
  return 'column' in value;
}

// The CEL form of an input, made once per input: a decision evaluates all of
// a deployment's rules on the same input.
const celInputs = new WeakMap<ConditionInput, Record<string, unknown>>();

function celInput(input: ConditionInput): Record<string, unknown> {
  let converted = celInputs.get(input);
  if (!converted) {
    converted = toCel(input);
    celInputs.set(input, converted);
  }
  return converted;
}

function toCel(input: ConditionInput): Record<string, unknown> {
  return {
    deployment: input.deployment,
    run: {
      ...input.run,
      plan: { ...input.run.plan, changes: input.run.plan.changes.map((c) => ({ ...c })) },
    },
    approvals: input.approvals.map((a) => ({ ...a })),
    now: { ...input.now, hour: BigInt(input.now.hour), minute: BigInt(input.now.minute) },
  };
}

const WEEKDAY = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// One formatter per time zone: making one costs more than evaluating 50 rules.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'long',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** `now` for conditions: the instant in the given IANA time zone. */
export function nowIn(instant: Date, timeZone: string): ConditionInput['now'] {
  // Every field is the same for a whole minute (time zone offsets are whole
  // minutes): formatted once per minute and zone, not at every decision.
  const key = `${timeZone} ${Math.floor(instant.getTime() / 60_000)}`;
  const known = minutes.get(key);
  if (known) return known;
  const now = formatNow(instant, timeZone);
  if (minutes.size >= 64) minutes.clear();
  minutes.set(key, now);
  return now;
}

const minutes = new Map<string, ConditionInput['now']>();

function formatNow(instant: Date, timeZone: string): ConditionInput['now'] {
  const parts = Object.fromEntries(
    formatterFor(timeZone)
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  const weekday = WEEKDAY.includes(parts.weekday ?? '') ? (parts.weekday as string) : 'Sunday';
  return {
    weekday,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    date: `${parts.year}-${parts.month}-${parts.day}`,
  };
}
