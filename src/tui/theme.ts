// Colours, or none: with NO_COLOR set (to anything but "") the dashboard uses no
// colour at all and leans on symbols, bold and inverse, which NO_COLOR allows.

import type { RunStatus } from '../core/lifecycle/statuses.ts';

export type Colour = 'green' | 'red' | 'yellow' | 'cyan' | 'blue' | 'magenta' | 'gray' | 'white';

export type Theme = {
  readonly colour: boolean;
  /** The colour for a role, or undefined (plain text) when colour is off. */
  readonly c: (role: Role) => Colour | undefined;
  readonly status: (status: RunStatus) => Colour | undefined;
};

export type Role =
  | 'accent'
  | 'muted'
  | 'danger'
  | 'warning'
  | 'success'
  | 'info'
  | 'add'
  | 'change'
  | 'destroy';

const ROLE_COLOURS: { readonly [R in Role]: Colour } = {
  accent: 'cyan',
  muted: 'gray',
  danger: 'red',
  warning: 'yellow',
  success: 'green',
  info: 'blue',
  add: 'green',
  change: 'yellow',
  destroy: 'red',
};

export const STATUS_COLOURS: { readonly [S in RunStatus]: Colour } = {
  queued: 'gray',
  pending: 'blue',
  initializing: 'blue',
  planning: 'blue',
  awaiting_plan_approval: 'yellow',
  awaiting_apply_approval: 'yellow',
  applying: 'cyan',
  destroying: 'magenta',
  verifying: 'cyan',
  rolling_back: 'magenta',
  completed: 'green',
  destroyed: 'green',
  no_changes: 'green',
  failed: 'red',
  cancelled: 'gray',
  rolled_back: 'red',
  rollback_failed: 'red',
};

/** NO_COLOR (https://no-color.org): present and not empty disables colour. */
export function colourWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = env.NO_COLOR;
  return noColor === undefined || noColor === '';
}

export function makeTheme(colour: boolean): Theme {
  return {
    colour,
    c: (role) => (colour ? ROLE_COLOURS[role] : undefined),
    status: (status) => (colour ? STATUS_COLOURS[status] : undefined),
  };
}

export const COLOUR_THEME = makeTheme(true);
export const PLAIN_THEME = makeTheme(false);
