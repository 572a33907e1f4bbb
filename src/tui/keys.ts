// Keys to commands, as data: the footer, the help screen and the handler all use
// these, so what is shown is what works.

import type { Key } from 'ink';
import type { StatusGroup } from '../core/lifecycle/statuses.ts';

export type Command =
  | { readonly type: 'quit' }
  | { readonly type: 'help' }
  | { readonly type: 'back' }
  | { readonly type: 'up' }
  | { readonly type: 'down' }
  | { readonly type: 'pageUp' }
  | { readonly type: 'pageDown' }
  | { readonly type: 'top' }
  | { readonly type: 'bottom' }
  | { readonly type: 'left' }
  | { readonly type: 'right' }
  | { readonly type: 'open' }
  | { readonly type: 'tab' }
  | { readonly type: 'search' }
  | { readonly type: 'cycleGroup' }
  | { readonly type: 'group'; readonly group: StatusGroup }
  | { readonly type: 'cycleDeployment' }
  | { readonly type: 'cycleEnvironment' }
  | { readonly type: 'approve' }
  | { readonly type: 'apply' }
  | { readonly type: 'cancel' }
  | { readonly type: 'lock' }
  | { readonly type: 'follow' }
  | { readonly type: 'zoom' }
  | { readonly type: 'refresh' };

export const GROUP_ORDER: readonly StatusGroup[] = ['active', 'awaiting_approval', 'failed', 'all'];

export const GROUP_LABELS: { readonly [G in StatusGroup]: string } = {
  active: 'active',
  awaiting_approval: 'awaiting approval',
  failed: 'failed',
  all: 'all',
};

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** The key of one character of a chunk of typed input. */
export function keyOf(ch: string): Key {
  return {
    ...NO_KEY,
    tab: ch === '\t',
    return: ch === '\r' || ch === '\n',
    backspace: ch === '\u007f' || ch === '\b',
    shift: ch !== ch.toLowerCase(),
  };
}

/** The command for a key press in the normal (not typing) mode, or null. */
export function commandFor(input: string, key: Key): Command | null {
  if (key.upArrow) return { type: 'up' };
  if (key.downArrow) return { type: 'down' };
  if (key.pageUp) return { type: 'pageUp' };
  if (key.pageDown) return { type: 'pageDown' };
  if (key.home) return { type: 'top' };
  if (key.end) return { type: 'bottom' };
  if (key.leftArrow) return { type: 'left' };
  if (key.rightArrow) return { type: 'right' };
  if (key.return) return { type: 'open' };
  if (key.escape) return { type: 'back' };
  if (key.tab) return { type: 'tab' };
  if (key.ctrl) {
    if (input === 'u' || input === 'b') return { type: 'pageUp' };
    if (input === 'd' || input === 'f') return { type: 'pageDown' };
    return null;
  }
  switch (input) {
    case 'q':
      return { type: 'quit' };
    case '?':
      return { type: 'help' };
    case 'k':
      return { type: 'up' };
    case 'j':
      return { type: 'down' };
    case ' ':
      return { type: 'pageDown' };
    case 'g':
      return { type: 'top' };
    case 'G':
      return { type: 'bottom' };
    case 'h':
      return { type: 'left' };
    case 'l':
      return { type: 'right' };
    case '/':
      return { type: 'search' };
    case 's':
      return { type: 'cycleGroup' };
    case '1':
    case '2':
    case '3':
    case '4':
      return { type: 'group', group: GROUP_ORDER[Number(input) - 1]! };
    case 'd':
      return { type: 'cycleDeployment' };
    case 'e':
      return { type: 'cycleEnvironment' };
    case 'a':
      return { type: 'approve' };
    case 'x':
      return { type: 'apply' };
    case 'c':
      return { type: 'cancel' };
    case 'L':
      return { type: 'lock' };
    case 'f':
      return { type: 'follow' };
    case 'z':
      return { type: 'zoom' };
    case 'r':
      return { type: 'refresh' };
    default:
      return null;
  }
}

export type HelpEntry = { readonly keys: string; readonly what: string; readonly action?: boolean };

export const HELP: readonly { readonly title: string; readonly entries: readonly HelpEntry[] }[] = [
  {
    title: 'Everywhere',
    entries: [
      { keys: '↑ ↓  j k', what: 'move the selection / scroll one line' },
      { keys: 'PgUp PgDn  space', what: 'scroll a page' },
      { keys: 'g  G', what: 'go to the top / the end (the end of a log follows it)' },
      { keys: '?', what: 'this help (any key closes it)' },
      { keys: 'esc', what: 'back: close the run, clear the search and filters' },
      { keys: 'r   q  ctrl-c', what: 'reload now (it is live anyway) / quit' },
    ],
  },
  {
    title: 'Runs',
    entries: [
      { keys: 'enter', what: 'open the selected run: detail and live log' },
      { keys: '/', what: 'search id, deployment, environment, status, requester' },
      { keys: 's  tab  1-4', what: 'status: active, awaiting approval, failed, all' },
      { keys: 'd  e', what: 'next deployment / environment filter' },
    ],
  },
  {
    title: 'A run',
    entries: [
      { keys: 'tab', what: 'switch between the detail and the log pane' },
      { keys: 'f', what: 'pause / resume following the log' },
      { keys: '← →  h l', what: 'scroll long log lines sideways' },
      { keys: 'z', what: 'zoom the focused pane to the full screen' },
    ],
  },
  {
    title: 'Actions (asked to confirm; the same rules as in Slack)',
    entries: [
      { keys: 'a', what: 'approve the plan', action: true },
      { keys: 'x', what: 'apply (or destroy): confirm the change', action: true },
      { keys: 'c', what: 'cancel the run, with an optional reason', action: true },
      {
        keys: 'L',
        what: 'lock (asks why) / unlock the run’s deployment: no apply while locked',
        action: true,
      },
    ],
  },
];
