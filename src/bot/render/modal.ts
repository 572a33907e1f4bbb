// The "Deploy…" form (a modal): pick a deployment (and, from the global
// shortcut, the channel to post in), then its variables as inputs built from
// their types. Pure: a deployment's config in, a view out, within Slack's view
// limits (view-limits.ts). Sensitive variables are never asked for here:
// Slack keeps what is typed in a view, so a secret typed into a form has left
// the product. Their defaults are used; without one the form says how to give
// the value instead.

import type { Deployment } from '../../core/api/port.ts';
import type { VariableSpec } from '../../core/config/schema.ts';
import { truncate } from './limits.ts';
import { VIEW_LIMITS } from './view-limits.ts';

export const DEPLOY_FORM = {
  callbackId: 'deploy_form',
  /** The deployment picker: changing it re-renders the form (dispatch_action). */
  deploymentAction: 'deploy_form_deployment',
  deploymentBlock: 'deployment',
  channelBlock: 'channel',
  channelAction: 'channel',
  valueAction: 'value',
} as const;

/** Action ids of the form's elements that send block_actions. */
export const FORM_ACTION_IDS: readonly string[] = [DEPLOY_FORM.deploymentAction];

/** What the form carries between opening, re-rendering and submission. */
export type DeployFormState = {
  /** The channel the command came from; null when the form asks for it (global shortcut). */
  readonly channel: string | null;
  readonly deployment: string | null;
};

export function encodeFormState(state: DeployFormState): string {
  return JSON.stringify({ c: state.channel, d: state.deployment });
}

export function parseFormState(raw: string | undefined): DeployFormState | null {
  if (raw === undefined || raw === '') return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== 'object' || value === null) return null;
    const { c, d } = value as Record<string, unknown>;
    if ((c !== null && typeof c !== 'string') || (d !== null && typeof d !== 'string')) return null;
    return { channel: c, deployment: d };
  } catch {
    return null;
  }
}

/** The block id of a variable's input: per deployment, so switching does not carry values over. */
export function variableBlockId(deployment: string, name: string): string {
  return `v:${deployment}:${name}`;
}

type Json = Record<string, unknown>;

const plain = (text: string, max: number): Json => ({
  type: 'plain_text',
  text: truncate(text, max),
  emoji: true,
});
const option = (text: string, value: string): Json => ({
  text: plain(text, VIEW_LIMITS.optionText),
  value,
});

/** Variables the form asks for (not sensitive), and those it leaves to their default or the command. */
export function formVariables(deployment: Deployment): {
  readonly asked: [string, VariableSpec][];
  readonly sensitive: [string, VariableSpec][];
} {
  const entries = Object.entries(deployment.variables);
  return {
    asked: entries.filter(([, spec]) => !spec.sensitive),
    sensitive: entries.filter(([, spec]) => spec.sensitive),
  };
}

/** Sensitive variables without a default: the form cannot start such a run. */
export function missingSensitive(deployment: Deployment): string[] {
  return formVariables(deployment)
    .sensitive.filter(([, spec]) => spec.required && spec.default === undefined)
    .map(([name]) => name);
}

function hintOf(spec: VariableSpec): string | null {
  const parts: string[] = [];
  if (spec.description) parts.push(spec.description);
  if (spec.type === 'string' && spec.pattern !== undefined) parts.push(`Pattern: ${spec.pattern}`);
  if (spec.type === 'number') {
    const range = [
      spec.min !== undefined ? `at least ${spec.min}` : null,
      spec.max !== undefined ? `at most ${spec.max}` : null,
    ].filter((p) => p !== null);
    if (spec.integer) range.unshift('a whole number');
    if (range.length > 0) parts.push(range.join(', '));
  }
  return parts.length > 0 ? parts.join(' · ') : null;
}

function variableElement(spec: VariableSpec): Json {
  const action_id = DEPLOY_FORM.valueAction;
  switch (spec.type) {
    case 'string': {
      const max = Math.min(spec.maxLength, VIEW_LIMITS.plainTextInputMaxLength);
      return {
        type: 'plain_text_input',
        action_id,
        max_length: max,
        ...(spec.default !== undefined && spec.default !== '' && spec.default.length <= max
          ? { initial_value: spec.default }
          : {}),
      };
    }
    case 'number':
      return {
        type: 'number_input',
        action_id,
        is_decimal_allowed: !spec.integer,
        ...(spec.min !== undefined ? { min_value: String(spec.min) } : {}),
        ...(spec.max !== undefined ? { max_value: String(spec.max) } : {}),
        ...(spec.default !== undefined ? { initial_value: String(spec.default) } : {}),
      };
    case 'boolean': {
      const yes = option('Yes', 'true');
      return {
        type: 'checkboxes',
        action_id,
        options: [yes],
        ...(spec.default === true ? { initial_options: [yes] } : {}),
      };
    }
    case 'select': {
      if (spec.options.length > VIEW_LIMITS.selectOptions) {
        // More choices than a select holds: typed, and checked like the command.
        return {
          type: 'plain_text_input',
          action_id,
          ...(spec.default !== undefined ? { initial_value: spec.default } : {}),
        };
      }
      const options = spec.options.map((o) => option(o, o));
      const initial =
        spec.default !== undefined ? options.find((o) => o.value === spec.default) : undefined;
      return {
        type: 'static_select',
        action_id,
        options,
        ...(initial !== undefined ? { initial_option: initial } : {}),
      };
    }
  }
}

function variableBlock(deployment: string, name: string, spec: VariableSpec): Json {
  const hint = hintOf(spec);
  return {
    type: 'input',
    block_id: variableBlockId(deployment, name),
    label: plain(name, VIEW_LIMITS.label),
    element: variableElement(spec),
    // A checkbox left empty means false: never required. Others: required
    // exactly when the command requires them (a default fills them in).
    optional: spec.type === 'boolean' || !spec.required,
    ...(hint !== null ? { hint: plain(hint, VIEW_LIMITS.hint) } : {}),
  };
}

export type DeployFormInput = {
  /** Deployments the person may pick (allowed in the channel, when it is known). */
  readonly deployments: readonly Deployment[];
  readonly state: DeployFormState;
  /** The command, for the sentences that send people to it ("/deploy"). */
  readonly command: string;
};

/** Blocks left for variables after the pickers and notes. */
const VARIABLE_BLOCKS = VIEW_LIMITS.blocks - 6;

export function renderDeployForm(input: DeployFormInput): Json {
  const { deployments, state, command } = input;
  const blocks: Json[] = [];
  if (state.channel === null) {
    blocks.push({
      type: 'input',
      block_id: DEPLOY_FORM.channelBlock,
      label: plain('Post the run in', VIEW_LIMITS.label),
      element: {
        type: 'conversations_select',
        action_id: DEPLOY_FORM.channelAction,
        filter: { include: ['public', 'private'], exclude_bot_users: true },
      },
      hint: plain('The run’s message and its approvals go to this channel.', VIEW_LIMITS.hint),
    });
  }
  if (deployments.length === 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text:
          'No deployment can be run from this channel. `' +
          command +
          ' list` in another channel shows what can be run there.',
      },
    });
    return {
      type: 'modal',
      callback_id: DEPLOY_FORM.callbackId,
      title: plain('Deploy', VIEW_LIMITS.modalText),
      close: plain('Close', VIEW_LIMITS.modalText),
      private_metadata: encodeFormState(state),
      blocks,
    };
  }
  const shown = deployments.slice(0, VIEW_LIMITS.selectOptions);
  const options = shown.map((d) => option(`${d.name} (${d.environment})`, d.name));
  const selected = shown.find((d) => d.name === state.deployment) ?? null;
  const initial = selected !== null ? options.find((o) => o.value === selected.name) : undefined;
  blocks.push({
    type: 'input',
    block_id: DEPLOY_FORM.deploymentBlock,
    dispatch_action: true,
    label: plain('Deployment', VIEW_LIMITS.label),
    element: {
      type: 'static_select',
      action_id: DEPLOY_FORM.deploymentAction,
      placeholder: plain('Pick a deployment', 150),
      options,
      ...(initial !== undefined ? { initial_option: initial } : {}),
    },
  });
  if (selected !== null) {
    if (selected.description) {
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: truncate(selected.description, 2000) }],
      });
    }
    const { asked, sensitive } = formVariables(selected);
    for (const [name, spec] of asked.slice(0, VARIABLE_BLOCKS)) {
      blocks.push(variableBlock(selected.name, name, spec));
    }
    const notes: string[] = [];
    if (asked.length > VARIABLE_BLOCKS) {
      notes.push(
        `${selected.name} has ${asked.length} variables; this form shows ${VARIABLE_BLOCKS}: the others take their defaults (\`${command} ${selected.name} name=value …\` sets any).`,
      );
    }
    if (sensitive.length > 0) {
      const names = sensitive.map(([n]) => n).join(', ');
      const missing = missingSensitive(selected);
      notes.push(
        missing.length > 0
          ? `:lock: ${names} ${sensitive.length === 1 ? 'is' : 'are'} sensitive and not asked here (Slack keeps what is typed in a form). ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no default, so this form cannot start ${selected.name}: run it with \`deploy-bot execute\` from a terminal.`
          : `:lock: ${names} ${sensitive.length === 1 ? 'is' : 'are'} sensitive and not asked here (Slack keeps what is typed in a form): ${sensitive.length === 1 ? 'its' : 'their'} configured default is used.`,
      );
    }
    if (notes.length > 0) {
      blocks.push({
        type: 'context',
        elements: notes.map((text) => ({ type: 'mrkdwn', text: truncate(text, 3000) })),
      });
    }
  }
  return {
    type: 'modal',
    callback_id: DEPLOY_FORM.callbackId,
    title: plain('Deploy', VIEW_LIMITS.modalText),
    submit: plain('Start run', VIEW_LIMITS.modalText),
    close: plain('Cancel', VIEW_LIMITS.modalText),
    private_metadata: encodeFormState(state),
    blocks,
  };
}
