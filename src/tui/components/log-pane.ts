// The log pane: the visible slice of a LogWindow, with where it is in the log and
// whether it follows.

import { Box } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { LogLine } from '../../core/api/types.ts';
import type { LogSnapshot } from '../data/log-window.ts';
import { fit, sanitize, sliceFrom } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { type Row, RowLine } from './row.ts';
import { paneTitle } from './run-detail.ts';

export type LogPaneProps = {
  readonly log: LogSnapshot;
  readonly width: number;
  readonly height: number;
  readonly focused: boolean;
  /** Columns scrolled to the right. */
  readonly hOffset: number;
  readonly theme: Theme;
};

const number = new Intl.NumberFormat('en');

function time(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
}

export function logRow(line: LogLine, hOffset: number, theme: Theme): Row {
  const text = sliceFrom(sanitize(line.line), hOffset);
  const marker = line.stream === 'system' ? '»' : line.stream === 'stderr' ? '!' : ' ';
  return [
    { text: `${time(line.at)} `, dim: true },
    { text: `${fit(line.phase, 8)}`, color: theme.c('muted') },
    {
      text: ` ${marker} `,
      color: line.stream === 'stderr' ? theme.c('danger') : theme.c('accent'),
    },
    {
      text,
      color: line.stream === 'stderr' ? theme.c('danger') : undefined,
      bold: line.stream === 'system',
    },
  ];
}

export function logStatus(log: LogSnapshot): string {
  const visible = Math.max(0, log.height);
  const first = log.startIndex + log.top + 1;
  const last = Math.min(log.startIndex + log.top + visible, log.startIndex + log.lines.length);
  const where =
    log.lines.length === 0
      ? 'empty'
      : `${number.format(first)}–${number.format(last)} of ${number.format(log.total)}`;
  const mode = log.following
    ? 'following'
    : log.missed > 0
      ? `paused, ${number.format(log.missed)} new`
      : 'paused';
  return `${where} · ${mode}${log.loading ? ' · loading…' : ''}`;
}

export function LogPane(props: LogPaneProps): ReactElement {
  const { log, width, theme } = props;
  const visible = Math.max(0, props.height - 1);
  const children: ReactElement[] = [
    h(RowLine, {
      key: 'title',
      row: paneTitle('Log', props.focused, logStatus(log), width, theme),
      width,
    }),
  ];
  if (log.error) {
    children.push(
      h(RowLine, {
        key: 'error',
        row: [{ text: `  cannot read the log: ${log.error}`, color: theme.c('danger') }],
        width,
      }),
    );
  } else if (log.lines.length === 0) {
    children.push(
      h(RowLine, {
        key: 'empty',
        row: [{ text: log.loading ? '  loading…' : '  no log lines yet', dim: true }],
        width,
      }),
    );
  }
  const end = Math.min(log.lines.length, log.top + visible);
  for (let i = log.top; i < end; i++) {
    const line = log.lines[i]!;
    children.push(h(RowLine, { key: line.id, row: logRow(line, props.hOffset, theme), width }));
  }
  return h(
    Box,
    { flexDirection: 'column', width, height: props.height, overflow: 'hidden' },
    ...children,
  );
}
