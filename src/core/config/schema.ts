import { posix } from 'node:path';
import { z } from 'zod';
import { isValidTimeZone } from '../policy/freeze.ts';
import { ruleIssues, rulesSchema } from '../policy/rule-config.ts';
import { retentionSchema } from '../retention/settings.ts';
import { tokenize } from '../variables/args.ts';
import { approvalsProblems, approvalsSchema, slackId } from './approvals.ts';
import { parseDuration } from './duration.ts';
import {
  freezeConfigIssues,
  freezeWindowSchema,
  fromListSchema,
  scopedFreezeWindowSchema,
} from './freeze-schema.ts';

const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === null) {
      ctx.addIssue({
        code: 'custom',
        message: `${what}: expected a duration like 30s, 10m or 1h, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** Names people type in Slack and in the CLI. */
const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const variableBase = {
  description: z.string().optional(),
  required: z.boolean().default(false),
  sensitive: z.boolean().default(false),
};

export const variableSpecSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('string'),
      ...variableBase,
      default: z.string().optional(),
      pattern: z
        .string()
        .refine((p) => {
          try {
            new RegExp(p);
            return true;
          } catch {
            return false;
          }
        }, 'not a valid regular expression')
        .optional(),
      maxLength: z.number().int().positive().default(4096),
    }),
    z.strictObject({
      type: z.literal('number'),
      ...variableBase,
      default: z.number().optional(),
      min: z.number().optional(),
      max: z.number().optional(),
      integer: z.boolean().default(false),
    }),
    z.strictObject({
      type: z.literal('boolean'),
      ...variableBase,
      default: z.boolean().optional(),
    }),
    z.strictObject({
      type: z.literal('select'),
      ...variableBase,
      options: z.array(z.string().min(1)).min(1),
      default: z.string().optional(),
    }),
  ],
  { error: () => 'expected one of string, number, boolean, select' },
);
export type VariableSpec = z.output<typeof variableSpecSchema>;

/** A glob relative to the source directory: never absolute, never out of it. */
const excludeGlob = z
  .string()
  .min(1)
  .refine(
    (g) => !g.startsWith('/') && !g.split('/').includes('..'),
    'expected a glob relative to the source directory (no leading /, no ..)',
  );
const directorySource = z.strictObject({
  kind: z.literal('directory'),
  path: z.string().min(1),
  /** Paths left out of every workspace copy and of the source digest. */
  exclude: z.array(excludeGlob).default([]),
});
const gitSource = z.strictObject({
  kind: z.literal('git-repository'),
  url: z.string().min(1),
  ref: z.string().min(1).default('main'),
  baseDirectory: z.string().default('.'),
});
export const sourceSchema = z.discriminatedUnion('kind', [directorySource, gitSource], {
  error: () => 'expected kind: directory or kind: git-repository',
});
export type SourceConfig = z.output<typeof sourceSchema>;

const scriptExecutor = z.strictObject({
  kind: z.literal('script'),
  plan: z.string().min(1),
  apply: z.string().min(1),
  destroyPlan: z.string().min(1).optional(),
  destroy: z.string().min(1).optional(),
  rollback: z.string().min(1).optional(),
  timeout: duration('timeout').default(600_000),
});
const terraformExecutor = z.strictObject({
  kind: z.literal('terraform'),
  binary: z.string().min(1).default('terraform'),
  rollback: z.string().min(1).optional(),
  timeout: duration('timeout').default(1_800_000),
});
export const executorSchema = z.discriminatedUnion('kind', [scriptExecutor, terraformExecutor], {
  error: () => 'expected kind: script or kind: terraform',
});
export type ExecutorConfig = z.output<typeof executorSchema>;

export const httpCheckSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeout: duration('timeout').default(30_000),
  retries: z.number().int().min(0).max(1000).default(5),
  interval: duration('interval').default(2_000),
});
export const verifySchema = z
  .strictObject({
    http: httpCheckSchema.optional(),
    command: z.string().min(1).optional(),
    timeout: duration('timeout').default(120_000),
  })
  .refine((v) => v.http !== undefined || v.command !== undefined, {
    message: 'verify needs http, command, or both',
  });
export type VerifyConfig = z.output<typeof verifySchema>;

export const sandboxSchema = z
  .strictObject({
    /** Network access (deployments talk to clouds); false gives the step no network at all. */
    network: z.boolean().default(true),
    /**
     * Steps start processes meant to outlive them (a local service): they share
     * the machine's process ids instead of a PID namespace of their own, and
     * get no /proc.
     */
    services: z.boolean().default(false),
    /** More paths the steps see, read-only unless access: rw. */
    paths: z
      .array(
        z.strictObject({
          path: z.string().refine((p) => p.startsWith('/'), 'expected an absolute path'),
          access: z.enum(['ro', 'rw']).default('ro'),
        }),
      )
      .default([]),
  })
  .default({ network: true, services: false, paths: [] });
export type SandboxConfig = z.output<typeof sandboxSchema>;

export const deploymentSchema = z.strictObject({
  name: z.string().regex(NAME, 'lowercase letters, digits, ".", "_" and "-", at most 63'),
  environment: z.string().min(1).default('default'),
  description: z.string().default(''),
  approvers: z.array(slackId).min(1, 'at least one approver is needed'),
  allowSelfApproval: z.boolean().default(false),
  /** How many must approve each decision and who (default: one of approvers). */
  approvals: approvalsSchema.optional(),
  approvalTimeout: duration('approvalTimeout').default(3_600_000),
  /** How the people who may approve are told a run waits for them (Slack): a thread reply, DMs, or not. */
  notify: z.enum(['thread', 'dm', 'none']).default('thread'),
  /** Tell them once more when a step still waits after this long (unset: never). */
  remind: duration('remind').optional(),
  channels: z.array(z.string().min(1)).optional(),
  source: sourceSchema,
  variables: z
    .record(
      z.string().regex(VARIABLE_NAME, 'a variable name is letters, digits and _'),
      variableSpecSchema,
    )
    .default({}),
  executor: executorSchema,
  verify: verifySchema.optional(),
  sandbox: sandboxSchema,
  /** Rules on the run and its plan (CEL conditions), after the top-level ones. */
  rules: rulesSchema,
  /** Windows during which this deployment may plan but not apply (besides the top-level ones). */
  freeze: z.array(freezeWindowSchema).default([]),
  /** Who may confirm an apply during a freeze, with a written reason (unset: nobody). */
  override: fromListSchema(slackId).optional(),
  /** Who may lock and unlock the deployment (unset: its approvers). */
  locks: fromListSchema(slackId).optional(),
});
export type DeploymentConfig = z.output<typeof deploymentSchema>;

/**
 * A step command runs a program in the workspace (`./plan.sh`, `bin/apply`) or
 * a bare program found on PATH (`terraform`): never a path that leaves the
 * source, which the approval does not cover.
 */
function commandProblem(command: string): string | null {
  let program: string | undefined;
  try {
    [program] = tokenize(command);
  } catch (error) {
    return `cannot be read: ${(error as Error).message}`;
  }
  if (program === undefined) return 'is empty';
  if (!program.includes('/')) return null;
  if (program.startsWith('/'))
    return `${program} is outside the source: use a path inside it (./script.sh) or a bare program on PATH (terraform)`;
  const normalized = posix.normalize(program);
  if (normalized === '..' || normalized.startsWith('../'))
    return `${program} leaves the source ("../"): use a path inside it (./script.sh) or a bare program on PATH (terraform)`;
  return null;
}

export const configSchema = z
  .strictObject({
    deployments: z.array(deploymentSchema).min(1, 'define at least one deployment'),
    retention: retentionSchema,
    /** The time zone of freeze windows without their own (and of `now` in rules); UTC when unset. */
    timezone: z
      .string()
      .refine(isValidTimeZone, {
        message: 'expected an IANA time zone such as UTC, Europe/Berlin or America/New_York',
      })
      .optional(),
    /** Freeze windows for all deployments, or those of `deployments:` / `environments:`. */
    freeze: z.array(scopedFreezeWindowSchema).default([]),
    /** Rules every deployment gets, before its own. */
    rules: rulesSchema,
  })
  .superRefine((config, ctx) => {
    for (const issue of ruleIssues(config.rules, config.deployments))
      ctx.addIssue({ code: 'custom', ...issue });
    for (const issue of freezeConfigIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
    const seen = new Map<string, number>();
    config.deployments.forEach((d, i) => {
      const first = seen.get(d.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['deployments', i, 'name'],
          message: `duplicate name "${d.name}" (also deployments[${first}])`,
        });
      }
      seen.set(d.name, i);
      for (const issue of approvalsProblems(d.approvers, d.approvals))
        ctx.addIssue({ code: 'custom', ...issue, path: ['deployments', i, ...issue.path] });
      const commands: [string[], string | undefined][] = [
        [['executor', 'plan'], d.executor.kind === 'script' ? d.executor.plan : undefined],
        [['executor', 'apply'], d.executor.kind === 'script' ? d.executor.apply : undefined],
        [
          ['executor', 'destroyPlan'],
          d.executor.kind === 'script' ? d.executor.destroyPlan : undefined,
        ],
        [['executor', 'destroy'], d.executor.kind === 'script' ? d.executor.destroy : undefined],
        [['executor', 'rollback'], d.executor.rollback],
        [['verify', 'command'], d.verify?.command],
      ];
      for (const [where, command] of commands) {
        const problem = command === undefined ? null : commandProblem(command);
        if (problem)
          ctx.addIssue({ code: 'custom', path: ['deployments', i, ...where], message: problem });
      }
      for (const [name, spec] of Object.entries(d.variables)) {
        if (
          spec.type === 'select' &&
          spec.default !== undefined &&
          !spec.options.includes(spec.default)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['deployments', i, 'variables', name, 'default'],
            message: `default "${spec.default}" is not one of ${spec.options.join(', ')}`,
          });
        }
      }
    });
  });
export type DeployConfig = z.output<typeof configSchema>;
