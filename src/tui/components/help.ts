// The ? screen.

import { createElement as h, type ReactElement } from 'react';
import { HELP } from '../keys.ts';
import { fit } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { Column } from './chrome.ts';
import { type Row, RowLine } from './row.ts';

export function helpRows(actor: string | null, theme: Theme, compact = false): Row[] {
  const rows: Row[] = [
    [
      { text: ' deploy-tui keys', bold: true, color: theme.c('accent') },
      { text: '   (press any key to close)', dim: true },
    ],
  ];
  if (!compact) rows.push([]);
  for (const group of HELP) {
    rows.push([{ text: ` ${group.title}`, bold: true }]);
    for (const e of group.entries) {
      const hidden = e.action && !actor;
      rows.push([
        {
          text: `   ${fit(e.keys, 18)}`,
          bold: true,
          color: hidden ? theme.c('muted') : theme.c('accent'),
        },
        { text: e.what, dim: hidden },
      ]);
    }
    if (!compact) rows.push([]);
  }
  rows.push(
    actor
      ? [{ text: ` You act as ${actor} (via tui). Refusals show the core's reason.`, dim: true }]
      : [
          {
            text: ' Read-only: set DEPLOY_TUI_USER to your Slack user id (or pass --as U…) to approve, apply and cancel.',
            color: theme.c('warning'),
          },
        ],
  );
  return rows;
}

export function HelpScreen(props: {
  readonly width: number;
  readonly height: number;
  readonly actor: string | null;
  readonly theme: Theme;
}): ReactElement {
  const full = helpRows(props.actor, props.theme);
  const rows = (full.length > props.height ? helpRows(props.actor, props.theme, true) : full).slice(
    0,
    props.height,
  );
  return h(Column, {
    width: props.width,
    height: props.height,
    children: rows.map((row, i) => h(RowLine, { key: i, row, width: props.width })),
  });
}
