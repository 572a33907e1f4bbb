// Property-based tests (fast-check) of everything that reads what people type
// or write: the argument tokenizer (`/deploy` and the CLI), the bot's `/deploy`
// parser, the variable validation and the config loader. On any input: no
// crash, only the expected kind of error, and the error says something.
// 2,000 runs per property in `npm run test:faults`, 200 in `npm test`.
//
// Three bugs these properties found are fixed (593fd91) and pinned by the
// example tests below: `__proto__=x` was dropped without a word; unknown
// variables named like Object.prototype members (constructor, toString…) passed
// as known and were ignored; an unknown YAML alias or an alias bomb threw a bare
// ReferenceError instead of a ConfigError naming the file.

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  MAX_LOG_LINES,
  parseDeployText,
  SUBCOMMANDS,
} from '../../src/bot/listeners/commands/parse.ts';
import { type Deployment, parseConfig } from '../../src/core/config/load.ts';
import { deploymentSchema } from '../../src/core/config/schema.ts';
import { ConfigError, Refusal } from '../../src/core/errors.ts';
import { ArgsError, parseArgs, tokenize } from '../../src/core/variables/args.ts';
import { validateVariables } from '../../src/core/variables/validate.ts';
import { FULL, reportFigures } from '../support/faults-support.ts';

const RUNS = FULL ? 2000 : 200;
const params = { numRuns: RUNS };
const figures: Record<string, number> = {};
const count = (key: string) => {
  figures[key] = (figures[key] ?? 0) + 1;
};
afterAll(() => reportFigures('properties', { runsPerProperty: RUNS, ...figures }));

/** Names Object.prototype already has (pinned by their own tests below). */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

// Text as people type it: any characters, and (more often) the ones that matter
// to a tokenizer: quotes of every kind, backslashes, spaces, =, newlines.
const TRICKY = [
  '"',
  "'",
  '“',
  '”',
  '‘',
  '’',
  '\\',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '=',
  '==',
  'a',
  'key',
  'image_tag',
  '1.4.2',
  'é',
  '漢',
  '😀',
  '\u0000',
  '\u200b',
  '$(',
  ')',
  '`',
  ';',
  '|',
];
const typed = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc
    .array(fc.oneof(fc.constantFrom(...TRICKY), fc.string({ maxLength: 4 })), { maxLength: 40 })
    .map((parts) => parts.join('')),
);
const anyValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
);
const variableName = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/)
  .filter((n) => !PROTOTYPE_NAMES.has(n));

/** As a person quotes a value: in double quotes, with \ and " escaped. */
const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

describe('the argument tokenizer (src/core/variables/args.ts)', () => {
  it(`tokenize and parseArgs throw nothing but an ArgsError with a message, on any text (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(typed, (text) => {
        for (const fn of [tokenize, parseArgs]) {
          try {
            const out = fn(text);
            count('tokenizerAccepted');
            if (Array.isArray(out)) for (const t of out) expect(typeof t).toBe('string');
          } catch (error) {
            expect(error).toBeInstanceOf(ArgsError);
            expect((error as ArgsError).message.length).toBeGreaterThan(10);
            count('tokenizerRefused');
          }
        }
      }),
      params,
    );
  });

  it(`round-trips any words, double-quoted with escapes (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.array(anyValue, { maxLength: 8 }), (words) => {
        expect(tokenize(words.map(quoted).join(' '))).toEqual(words);
      }),
      params,
    );
  });

  it(`round-trips single-quoted and smart-quoted words, and plain words (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.array(
          anyValue.filter((w) => !/['’”]/.test(w)),
          { maxLength: 6 },
        ),
        fc.array(fc.stringMatching(/^[^\s"'“‘\\]+$/), { maxLength: 6 }),
        (words, plain) => {
          expect(tokenize(words.map((w) => `'${w}'`).join(' '))).toEqual(words);
          expect(tokenize(words.map((w) => `“${w}”`).join(' '))).toEqual(words);
          expect(tokenize(words.map((w) => `‘${w}’`).join('\t'))).toEqual(words);
          expect(tokenize(plain.join('  '))).toEqual(plain);
        },
      ),
      params,
    );
  });

  it(`round-trips key="value" assignments of any values (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.dictionary(variableName, anyValue, { maxKeys: 6 }), (vars) => {
        const text = Object.entries(vars)
          .map(([k, v]) => `${k}=${quoted(v)}`)
          .join(' ');
        const parsed = parseArgs(text);
        expect(parsed.words).toEqual([]);
        expect({ ...parsed.assignments }).toEqual({ ...vars });
      }),
      params,
    );
  });

  it('refuses or keeps every name=value: a name Object.prototype has (__proto__) is dropped without a word', () => {
    // Was: splitAssignments assigned into a plain object, so `__proto__=x` set
    // nothing and was not reported, and a second one was not "given twice".
    let outcome: string;
    try {
      outcome = JSON.stringify(parseArgs('__proto__=1 __proto__=2').assignments);
    } catch (error) {
      outcome = `refused: ${(error as Error).message}`;
    }
    expect(outcome).not.toBe('{}');
  });
});

describe("the bot's /deploy parser (src/bot/listeners/commands/parse.ts)", () => {
  it(`never throws; wrong usage always says what is wrong and how to use it (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.oneof(
          typed,
          fc
            .tuple(fc.constantFrom(...SUBCOMMANDS, 'EXECUTE', 'Help', 'lst', 'web'), typed)
            .map(([a, rest]) => `${a} ${rest}`),
        ),
        (text) => {
          const request = parseDeployText(text);
          count(`parser.${request.kind}`);
          switch (request.kind) {
            case 'usage':
              expect(request.problem.trim().length).toBeGreaterThan(5);
              expect(request.usage.length).toBeGreaterThan(0);
              for (const u of request.usage) expect(u).toMatch(/^\/deploy /);
              break;
            case 'run':
              // An empty name counts as none given (`/deploy ""` is a usage answer).
              expect(request.deployment.trim()).not.toBe('');
              expect(request.deployment).not.toContain('=');
              for (const key of Object.keys(request.variables))
                expect(key).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
              break;
            case 'logs':
              expect(request.lines).toBeGreaterThanOrEqual(1);
              expect(request.lines).toBeLessThanOrEqual(MAX_LOG_LINES);
              expect(request.runId.length).toBeGreaterThan(0);
              break;
            case 'cancel':
              expect(request.runId.length).toBeGreaterThan(0);
              break;
            case 'help':
            case 'list':
            case 'status':
              break;
          }
        },
      ),
      params,
    );
  });
});

// ---------------------------------------------------------------------------
// Variable validation

const lowerName = fc
  .stringMatching(/^[a-z_][a-z0-9_]{0,10}$/)
  .filter((n) => !PROTOTYPE_NAMES.has(n));
const PATTERNS = ['^[a-z0-9._-]+$', '^\\d+$', '.*', '^(a|b)+$', '^v[0-9]+\\.[0-9]+$', '[A-Z]'];
const specArb = fc.oneof(
  fc.record(
    {
      type: fc.constant('string' as const),
      required: fc.boolean(),
      sensitive: fc.boolean(),
      pattern: fc.constantFrom(...PATTERNS),
      maxLength: fc.integer({ min: 1, max: 80 }),
      default: fc.string({ maxLength: 10 }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('number' as const),
      required: fc.boolean(),
      sensitive: fc.boolean(),
      min: fc.integer({ min: -100, max: 0 }),
      max: fc.integer({ min: 1, max: 100 }),
      integer: fc.boolean(),
      default: fc.integer({ min: 1, max: 5 }),
    },
    { requiredKeys: ['type'] },
  ),
  fc.record(
    {
      type: fc.constant('boolean' as const),
      required: fc.boolean(),
      sensitive: fc.boolean(),
      default: fc.boolean(),
    },
    { requiredKeys: ['type'] },
  ),
  fc
    .record(
      {
        type: fc.constant('select' as const),
        required: fc.boolean(),
        sensitive: fc.boolean(),
        options: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { minLength: 1, maxLength: 4 }),
      },
      { requiredKeys: ['type', 'options'] },
    )
    .chain((s) =>
      fc.option(fc.constantFrom(...s.options)).map((d) => (d === null ? s : { ...s, default: d })),
    ),
);

function deploymentWith(variables: Record<string, unknown>): Deployment {
  const parsed = deploymentSchema.parse({
    name: 'prop',
    approvers: ['U0APPROVER'],
    source: { kind: 'directory', path: '.' },
    executor: { kind: 'script', plan: './plan.sh', apply: './apply.sh' },
    variables,
  });
  return { ...parsed, baseDir: '/tmp' };
}

/** A value no message could contain by chance. */
let secretCounter = 0;
const secretValue = (raw: string) => `ZQX${(secretCounter++).toString(36)}QXZ${raw}`;

/** A value the spec would likely take (the property also tries anything at all). */
const VALID_FOR_PATTERN: Record<string, string> = {
  '^[a-z0-9._-]+$': 'v1.2-rc_3',
  '^\\d+$': '12345',
  '.*': 'anything at all',
  '^(a|b)+$': 'abba',
  '^v[0-9]+\\.[0-9]+$': 'v10.2',
  '[A-Z]': 'has Upper',
};
function likelyValid(spec: Deployment['variables'][string], g: fc.GeneratorValue): string {
  switch (spec.type) {
    case 'string':
      return spec.pattern !== undefined
        ? (VALID_FOR_PATTERN[spec.pattern] ?? 'x')
        : g(fc.string, { maxLength: spec.maxLength });
    case 'number':
      return String(g(fc.integer, { min: spec.min ?? -5, max: spec.max ?? 5 }));
    case 'boolean':
      return g(fc.constantFrom, 'true', 'false', 'yes', 'no', 'on', 'off', '1', '0', ' TRUE ');
    case 'select':
      return g(fc.constantFrom, ...spec.options);
  }
}

describe('variable validation (src/core/variables/validate.ts)', () => {
  it(`throws nothing but a Refusal with a message and every problem, and never echoes a sensitive value (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.dictionary(lowerName, specArb, { maxKeys: 6 }),
        fc.oneof(
          { weight: 4, arbitrary: fc.constant({}) },
          { weight: 1, arbitrary: fc.dictionary(lowerName, anyValue, { maxKeys: 3 }) },
        ),
        fc.gen(),
        (specs, extra, g) => {
          const deployment = deploymentWith(specs);
          const input: Record<string, string> = {};
          const secrets: string[] = [];
          // For each declared variable: nothing, a likely valid value, or anything.
          for (const [name, spec] of Object.entries(deployment.variables)) {
            const choice = g(fc.nat, 3);
            if (choice === 0) continue;
            const raw = choice === 1 ? likelyValid(spec, g) : g(() => anyValue);
            if (spec.sensitive) {
              input[name] = secretValue(raw);
              secrets.push(input[name]);
            } else input[name] = raw.replaceAll('ZQX', '');
          }
          // …and unknown variables now and then.
          for (const [k, v] of Object.entries(extra))
            if (!(k in deployment.variables)) input[k] = v.replaceAll('ZQX', '');
          try {
            const out = validateVariables(deployment, input);
            count('validationAccepted');
            for (const [name, spec] of Object.entries(deployment.variables)) {
              const where = spec.sensitive ? out.secret : out.plain;
              const other = spec.sensitive ? out.plain : out.secret;
              expect(Object.hasOwn(other, name)).toBe(false);
              if (input[name] !== undefined) expect(Object.hasOwn(where, name)).toBe(true);
            }
            for (const k of Object.keys(input))
              expect(Object.hasOwn(deployment.variables, k)).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(Refusal);
            const refusal = error as Refusal;
            expect(refusal.code).toBe('invalid_variables');
            expect(refusal.message.trim().length).toBeGreaterThan(5);
            const problems = refusal.details.problems as string[];
            expect(problems.length).toBeGreaterThan(0);
            for (const p of problems) expect(p.trim().length).toBeGreaterThan(5);
            const shown = JSON.stringify({ m: refusal.message, d: refusal.details });
            for (const s of secrets) expect(shown).not.toContain(s);
            // Every unknown name is named.
            for (const k of Object.keys(input))
              if (!Object.hasOwn(deployment.variables, k)) expect(refusal.message).toContain(k);
            count('validationRefused');
          }
        },
      ),
      params,
    );
  });

  it('refuses an unknown variable whose name Object.prototype has (constructor=1, toString=1)', () => {
    // Was: validateVariables checked `key in specs`, so inherited names passed
    // as known and were then ignored: the run started without a word.
    const deployment = deploymentWith({ tag: { type: 'string' } });
    const accepted: string[] = [];
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      try {
        validateVariables(deployment, { [name]: '1' });
        accepted.push(name);
      } catch (error) {
        expect(error).toBeInstanceOf(Refusal);
      }
    }
    expect(accepted).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// The config loader

const FILE = '/etc/deploy-bot/team.deploy.yaml';
const LABEL = 'team.deploy.yaml';

/** parseConfig's contract: a config, or a ConfigError whose every problem names the file. */
function expectConfigOrError(text: string) {
  try {
    const config = parseConfig(text, FILE);
    expect(config.deployments.size).toBeGreaterThan(0);
    count('configAccepted');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) {
      expect(p.startsWith(`${LABEL}:`), p).toBe(true);
      expect(p.length).toBeGreaterThan(LABEL.length + 3);
    }
    count('configRefused');
  }
}

// YAML-ish text: pieces of real configs, YAML syntax and junk, in any order.
const YAML_PIECES = [
  'deployments:',
  '\n',
  '\n  ',
  '\n    ',
  '  ',
  '- ',
  'name: web',
  'name: ',
  'environment: production',
  'approvers: [U0APPROVER]',
  'approvers:',
  '- U0APPROVER',
  'source: { kind: directory, path: ./infra }',
  'source:',
  'kind: git-repository',
  'url: https://example.com/x.git',
  'executor: { kind: script, plan: ./plan.sh, apply: ./apply.sh }',
  'executor:',
  'kind: terraform',
  'timeout: 10m',
  'timeout: forever',
  'variables:',
  'image_tag: { type: string, required: true, pattern: "^[a-z]+$" }',
  'replicas: { type: number, min: 1, max: 3, default: 9 }',
  'size: { type: select, options: [small, large], default: huge }',
  'pattern: "(["',
  'verify: { http: { url: "ftp://x" } }',
  'verify: {}',
  ':',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '#',
  '&anchor ',
  '*anchor',
  '*nope',
  '<<: *anchor',
  '&a [x, x, x, x, x, x, x, x, x, x]',
  '[*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  '!!str ',
  '!!binary ',
  '!!int ',
  '!!set ',
  '? ',
  '|',
  '>-',
  '---',
  '...',
  '%YAML 1.2\n---\n',
  '1e999',
  '-.inf',
  '.nan',
  'null',
  '~',
  'true',
  '0x1F',
  '\t',
  '\u0000',
  '\ufeff',
  '😀',
];
const yamlish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc
    .array(fc.oneof(fc.constantFrom(...YAML_PIECES), fc.string({ maxLength: 5 })), {
      maxLength: 60,
    })
    .map((p) => p.join('')),
);

// Valid configs, and valid configs with a part or two replaced by anything.
const jsonish = fc.jsonValue({ maxDepth: 4 });
const validDeployment = fc.record(
  {
    name: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/),
    environment: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    description: fc.string({ maxLength: 20 }),
    approvers: fc.uniqueArray(fc.constantFrom('U0APPROVER', 'S0OPSGROUP', 'W0EXTERNAL'), {
      minLength: 1,
      maxLength: 3,
    }),
    allowSelfApproval: fc.boolean(),
    approvalTimeout: fc.constantFrom('1h', '30s', '10m', '2h30m', 90, '1d'),
    channels: fc.array(fc.stringMatching(/^C0[A-Z0-9]{3,8}$/), { minLength: 1, maxLength: 2 }),
    source: fc.oneof(
      fc.record({
        kind: fc.constant('directory'),
        path: fc.constantFrom('./infra', '.', 'app/web'),
      }),
      fc.record(
        {
          kind: fc.constant('git-repository'),
          url: fc.constantFrom('https://example.com/infra.git', '/srv/git/infra'),
          ref: fc.constantFrom('main', 'v1.2.3', 'release/2024'),
          baseDirectory: fc.constantFrom('.', 'terraform/web'),
        },
        { requiredKeys: ['kind', 'url'] },
      ),
    ),
    variables: fc.dictionary(lowerName, specArb, { maxKeys: 3 }),
    executor: fc.oneof(
      fc.record(
        {
          kind: fc.constant('script'),
          plan: fc.constant('./plan.sh'),
          apply: fc.constant('./apply.sh'),
          destroy: fc.constant('./destroy.sh'),
          rollback: fc.constant('./rollback.sh'),
          timeout: fc.constantFrom('10m', '30s', 600),
        },
        { requiredKeys: ['kind', 'plan', 'apply'] },
      ),
      fc.record(
        { kind: fc.constant('terraform'), binary: fc.constantFrom('terraform', 'tofu') },
        { requiredKeys: ['kind'] },
      ),
    ),
    verify: fc.oneof(
      fc.record({ http: fc.record({ url: fc.constant('http://127.0.0.1:8080/healthz') }) }),
      fc.record({ command: fc.constant('./smoke.sh') }),
    ),
  },
  { requiredKeys: ['name', 'approvers', 'source', 'executor'] },
);
const DEPLOYMENT_KEYS = [
  'name',
  'environment',
  'description',
  'approvers',
  'allowSelfApproval',
  'approvalTimeout',
  'channels',
  'source',
  'variables',
  'executor',
  'verify',
  'unknownKey',
] as const;
const configShaped = fc
  .tuple(
    fc.uniqueArray(validDeployment, { minLength: 1, maxLength: 4, selector: (d) => d.name }),
    fc.array(fc.tuple(fc.nat(), fc.constantFrom(...DEPLOYMENT_KEYS), jsonish), { maxLength: 2 }),
  )
  .map(([deployments, mutations]) => {
    const copy = deployments.map((d) => ({ ...d }) as Record<string, unknown>);
    for (const [i, key, junk] of mutations) copy[i % copy.length]![key] = junk;
    return { config: { deployments: copy }, mutated: mutations.length > 0 };
  });

describe('the config loader (src/core/config/load.ts)', () => {
  it(`on any YAML-ish text: a config, or a ConfigError whose every problem starts with the file name (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(yamlish, (text) => expectConfigOrError(text)),
      params,
    );
  });

  it(`on any JSON-shaped value dumped as YAML: the same (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(jsonish, (value) => expectConfigOrError(stringify(value))),
      params,
    );
  });

  it(`every valid config loads; with any part replaced by anything, the same contract (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(configShaped, ({ config, mutated }) => {
        const text = stringify(config);
        if (!mutated) {
          const loaded = parseConfig(text, FILE);
          expect(loaded.deployments.size).toBe(config.deployments.length);
          count('validConfigLoaded');
        } else expectConfigOrError(text);
      }),
      params,
    );
  });

  it('YAML aliases: an unknown alias, or an alias bomb, is a ConfigError naming the file too', () => {
    // Was: doc.toJS() threw a ReferenceError for these, outside parseConfig's
    // error handling, so the CLI, serve and deploy-tui reported it bare.
    const thrown: string[] = [];
    for (const text of [
      'deployments: *nope',
      '<<: *base\ndeployments: []',
      [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
        'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
        'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      ].join('\n'),
    ]) {
      try {
        parseConfig(text, FILE);
      } catch (error) {
        if (!(error instanceof ConfigError))
          thrown.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
    }
    expect(thrown).toEqual([]);
  });
});
