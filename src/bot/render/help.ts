// Usage text for `/deploy help` (and `/deploy help <deployment>`).

import type { DeploymentView } from '../../core/api/types.ts';
import { type Block, mrkdwn, plainText, type RenderedMessage } from './blocks.ts';
import { codeText, fitEncoded } from './format.ts';
import { escapeMrkdwn, LIMITS, truncate } from './limits.ts';

/** The commands `/deploy` understands, as shown by help. `{cmd}` is the slash command. */
export const HELP_COMMANDS: readonly { readonly usage: string; readonly description: string }[] = [
  {
    usage: '{cmd}',
    description:
      'Open a form: pick a deployment, fill in its variables, start the run (also the "Deploy…" shortcut).',
  },
  {
    usage: '{cmd} <deployment> [name=value …]',
    description:
      'Plan a deployment with its variables. The plan is posted for review; it needs a plan approval, then an apply confirmation.',
  },
  {
    usage: '{cmd} execute <deployment> [name=value …]',
    description: 'The same, spelled out (for a deployment named like a command).',
  },
  {
    usage: '{cmd} destroy <deployment> [name=value …]',
    description:
      'Plan removing every resource of a deployment (the same two approvals), with the variables of its last completed run unless typed.',
  },
  {
    usage: '{cmd} status [<deployment> | <run-id>]',
    description: 'Show active runs, the runs of a deployment, or one run.',
  },
  {
    usage: '{cmd} logs <run-id> [N]',
    description: 'The last N lines of a run’s log (default 20), sensitive values redacted.',
  },
  {
    usage: '{cmd} list',
    description: 'List the deployments you can run here and what they are doing.',
  },
  {
    usage: '{cmd} cancel <run-id> [reason]',
    description:
      'Cancel a run that is queued, planning or waiting for approval. Nothing in the cloud changes.',
  },
  {
    usage: '{cmd} history <deployment>',
    description:
      'The recent completed runs of a deployment, each with a "Deploy this version" button.',
  },
  {
    usage: '{cmd} lock <deployment> | env:<environment> | all "reason"',
    description:
      'Lock: runs may plan and get plan approval, but no apply or destroy is confirmed until unlocked (who may: locks.from, default the approvers).',
  },
  {
    usage: '{cmd} unlock <deployment> | env:<environment> | all',
    description: 'Lift a lock. {cmd} locks lists the locks in force.',
  },
  {
    usage: '{cmd} login <code>',
    description:
      'Sign in the deploy-bot login waiting on your machine as you (it printed the code). Then: tokens lists your tokens, logout [all] revokes them.',
  },
  { usage: '{cmd} help [<deployment>]', description: 'This help, or the usage of one deployment.' },
];

export type HelpDeployment = Pick<
  DeploymentView,
  'name' | 'environment' | 'description' | 'usage' | 'hasDestroy'
> &
  Partial<Pick<DeploymentView, 'variables'>>;

export type HelpOptions = {
  /** The slash command as registered (default "/deploy"). */
  readonly command?: string;
  /** Deployments to list (or the one asked about). */
  readonly deployments?: readonly HelpDeployment[];
};

const MAX_DEPLOYMENTS_SHOWN = 30;

/** Plain usage text, not escaped for mrkdwn (for the CLI, or escape it for Slack). */
export function helpText(command = '/deploy'): string {
  const lines = HELP_COMMANDS.map(
    (c) => `${c.usage.replaceAll('{cmd}', command)}\n    ${c.description}`,
  );
  return [
    `Usage of ${command}:`,
    ...lines,
    '',
    'Values with spaces go in quotes: msg="hello world". Sensitive variables are masked everywhere.',
    'Each change needs two approvals: "Approve plan" after reviewing the plan, then "Apply" (or "Destroy").',
  ].join('\n');
}

function variableLine(
  name: string,
  spec: NonNullable<HelpDeployment['variables']>[string],
): string {
  const type =
    spec.type === 'select' && spec.options ? spec.options.join(' | ') || 'select' : spec.type;
  const flags = [
    spec.required ? 'required' : 'optional',
    spec.sensitive ? 'sensitive' : null,
    spec.default !== undefined && !spec.sensitive ? `default ${String(spec.default)}` : null,
  ].filter((f): f is string => f !== null);
  const description = spec.description ? `: ${spec.description}` : '';
  return `• \`${fitEncoded(name, 64, codeText)}\` (${fitEncoded(type, 200, escapeMrkdwn)}; ${flags.join(', ')})${fitEncoded(description, 200, escapeMrkdwn)}`;
}

/** Usage of one deployment: its description, usage line and variables. */
export function renderDeploymentHelp(
  deployment: HelpDeployment,
  command = '/deploy',
): RenderedMessage {
  const name = fitEncoded(deployment.name, 100, escapeMrkdwn);
  const lines = [
    `*${name}* (${fitEncoded(deployment.environment, 100, escapeMrkdwn)})`,
    deployment.description ? fitEncoded(deployment.description, 500, escapeMrkdwn) : null,
    deployment.usage
      ? `\`${fitEncoded(deployment.usage, 400, codeText)}\``
      : `\`${command} ${name}\``,
    deployment.hasDestroy ? `Destroy with \`${command} destroy ${name}\`.` : null,
  ].filter((l): l is string => l !== null);
  const blocks: Block[] = [
    {
      type: 'header',
      text: plainText(truncate(`${command} ${deployment.name}`, LIMITS.headerText)),
    },
    { type: 'section', text: mrkdwn(truncate(lines.join('\n'), LIMITS.sectionText)) },
  ];
  const variables = Object.entries(deployment.variables ?? {});
  if (variables.length > 0) {
    const out = ['*Variables*'];
    let used = out[0]!.length;
    for (let i = 0; i < variables.length; i++) {
      const [varName, spec] = variables[i]!;
      const line = variableLine(varName, spec);
      if (used + line.length + 1 > LIMITS.sectionText - 60) {
        out.push(`…and ${variables.length - i} more`);
        break;
      }
      out.push(line);
      used += line.length + 1;
    }
    blocks.push({ type: 'section', text: mrkdwn(out.join('\n')) });
  }
  return { text: truncate(`Usage of ${command} ${deployment.name}`, 300), blocks };
}

/** `/deploy help`: the commands, and the deployments when given. */
export function renderHelp(opts: HelpOptions = {}): RenderedMessage {
  const command = opts.command ?? '/deploy';
  const commands = HELP_COMMANDS.map(
    (c) => `\`${codeText(c.usage.replaceAll('{cmd}', command))}\`\n${escapeMrkdwn(c.description)}`,
  ).join('\n');
  const blocks: Block[] = [
    { type: 'header', text: plainText(truncate(`How to use ${command}`, LIMITS.headerText)) },
    { type: 'section', text: mrkdwn(truncate(commands, LIMITS.sectionText)) },
    {
      type: 'context',
      elements: [
        mrkdwn(
          'Values with spaces go in quotes: `msg="hello world"`. Every change needs two approvals: *Approve plan*, then *Apply* (or *Destroy*). Sensitive variables are always masked.',
        ),
      ],
    },
  ];
  const deployments = opts.deployments ?? [];
  const example = deployments[0];
  const exampleName = example ? fitEncoded(example.name, 64, codeText) : 'web-prod';
  const examples = [
    example
      ? `\`${codeText(command)} ${exampleName}\``
      : `\`${codeText(command)} web-prod image_tag=1.4.2\``,
    `\`${codeText(`${command} <deployment> message="hello world"`)}\` (quotes keep spaces)`,
    `\`${codeText(command)} destroy ${exampleName}\``,
    `\`${codeText(command)} status\` · \`${codeText(command)} logs run-7k2m9x4p 50\` · \`${codeText(command)} cancel run-7k2m9x4p wrong tag\``,
    ...(example?.usage
      ? [`Usage of ${exampleName}: \`${fitEncoded(example.usage, 300, codeText)}\``]
      : []),
  ];
  blocks.push({
    type: 'section',
    text: mrkdwn(truncate(`*Examples*\n${examples.join('\n')}`, LIMITS.sectionText)),
  });
  if (deployments.length > 0) {
    const shown = deployments.slice(0, MAX_DEPLOYMENTS_SHOWN);
    const lines = shown.map((d) => {
      const description = d.description ? `: ${fitEncoded(d.description, 120, escapeMrkdwn)}` : '';
      return `• \`${fitEncoded(d.name, 64, codeText)}\` (${fitEncoded(d.environment, 40, escapeMrkdwn)})${description}`;
    });
    const out = ['*Deployments*'];
    let used = out[0]!.length;
    let listed = 0;
    for (const line of lines) {
      if (used + line.length + 1 > LIMITS.sectionText - 80) break;
      out.push(line);
      used += line.length + 1;
      listed += 1;
    }
    if (listed < deployments.length) {
      out.push(
        `…and ${deployments.length - listed} more: \`${codeText(command)} list\` shows them all.`,
      );
    }
    blocks.push({ type: 'divider' }, { type: 'section', text: mrkdwn(out.join('\n')) });
  }
  return { text: fitEncoded(helpText(command), 3000, escapeMrkdwn), blocks };
}

/** A variable as the usage line needs it (a DeploymentView's or a config's). */
export type UsageVariable = {
  readonly type: 'string' | 'number' | 'boolean' | 'select';
  readonly required: boolean;
  readonly sensitive: boolean;
  readonly default?: string | number | boolean | undefined;
  readonly options?: readonly string[] | undefined;
};

/**
 * `/deploy web-prod image_tag=<string> [replicas=<number, default 2>]`. The
 * default of a sensitive variable is never shown (the core's usage string
 * shows it, so the bot builds its own).
 */
export function usageLine(
  command: string,
  name: string,
  variables: Readonly<Record<string, UsageVariable>>,
): string {
  const parts = Object.entries(variables).map(([key, spec]) => {
    const type = spec.type === 'select' && spec.options ? spec.options.join('|') : spec.type;
    const hasDefault = spec.default !== undefined;
    const def = hasDefault
      ? `, default ${spec.sensitive ? '(hidden)' : String(spec.default)}`
      : spec.sensitive && !spec.required
        ? ', optional'
        : '';
    const item = `${key}=<${type}${def}>`;
    return spec.required && !hasDefault ? item : `[${item}]`;
  });
  return [command, name, ...parts].join(' ');
}
