import { z } from 'zod';
import { retentionSchema } from '../retention/settings.ts';
import { parseDuration } from './duration.ts';

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

const directorySource = z.strictObject({
  kind: z.literal('directory'),
  path: z.string().min(1),
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

const slackId = z
  .string()
  .regex(/^[USW][A-Z0-9]{2,}$/, 'expected a Slack user id (U…/W…) or user-group id (S…)');

export const deploymentSchema = z.strictObject({
  name: z.string().regex(NAME, 'lowercase letters, digits, ".", "_" and "-", at most 63'),
  environment: z.string().min(1).default('default'),
  description: z.string().default(''),
  approvers: z.array(slackId).min(1, 'at least one approver is needed'),
  allowSelfApproval: z.boolean().default(false),
  approvalTimeout: duration('approvalTimeout').default(3_600_000),
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
});
export type DeploymentConfig = z.output<typeof deploymentSchema>;

export const configSchema = z
  .strictObject({
    deployments: z.array(deploymentSchema).min(1, 'define at least one deployment'),
    retention: retentionSchema,
  })
  .superRefine((config, ctx) => {
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
