// Header, reconnecting banner, message line and key footer: one line each.

import { Box } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import { shortDuration } from '../text/time.ts';
import { displayWidth, truncate } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { fitRow, type Row, RowLine, rowWidth, type Segment } from './row.ts';

export type HeaderProps = {
  readonly width: number;
  readonly theme: Theme;
  readonly actor: string | null;
  /** Left part after the product name, e.g. the filters or the run id. */
  readonly context: readonly Segment[];
  /** Right-aligned, e.g. "12 of 340 runs". */
  readonly right: string;
};

export function Header(props: HeaderProps): ReactElement {
  const { theme } = props;
  const who: Segment = props.actor
    ? { text: ` as ${props.actor} `, color: theme.c('success') }
    : { text: ' read-only ', color: theme.c('warning') };
  const left: Segment[] = [
    { text: ' deploy-tui ', bold: true, inverse: true },
    who,
    { text: '│ ', dim: true },
    ...props.context,
  ];
  // The right part (counts) stays whole; the left is cut to what remains.
  const right = truncate(props.right, Math.max(0, Math.floor(props.width / 3)));
  const shown = fitRow(left, Math.max(0, props.width - displayWidth(right) - 1));
  const gap = Math.max(1, props.width - rowWidth(shown) - displayWidth(right));
  const row: Row = [...shown, { text: ' '.repeat(gap) }, { text: right, dim: true }];
  return h(RowLine, { row, width: props.width });
}

export function ReconnectBanner(props: {
  readonly width: number;
  readonly theme: Theme;
  readonly lostSince: number;
  readonly now: number;
}): ReactElement {
  const text = ` ⚠ reconnecting to the database… (lost ${shortDuration(props.now - props.lostSince)} ago; what you see may be out of date)`;
  return h(RowLine, {
    row: [{ text, inverse: true, bold: true, color: props.theme.c('danger') }],
    width: props.width,
    pad: true,
  });
}

export type Message = { readonly kind: 'error' | 'info' | 'success'; readonly text: string };

export function MessageLine(props: {
  readonly width: number;
  readonly theme: Theme;
  readonly message: Message | null;
  /** Shown when there is no message (e.g. what the selected run needs). */
  readonly idle: readonly Segment[];
}): ReactElement {
  const { message, theme } = props;
  const row: Row = message
    ? [
        {
          text: ` ${message.kind === 'error' ? '✗' : message.kind === 'success' ? '✓' : '·'} ${message.text}`,
          color:
            message.kind === 'error'
              ? theme.c('danger')
              : message.kind === 'success'
                ? theme.c('success')
                : undefined,
          bold: message.kind === 'error',
        },
      ]
    : [{ text: ' ' }, ...props.idle];
  return h(RowLine, { row, width: props.width });
}

export type Hint = { readonly key: string; readonly label: string };

export function Footer(props: {
  readonly width: number;
  readonly theme: Theme;
  readonly hints: readonly Hint[];
}): ReactElement {
  const row: Segment[] = [];
  let used = 0;
  for (const hint of props.hints) {
    const w = displayWidth(hint.key) + displayWidth(hint.label) + 3;
    // Whole hints only: a cut-off hint is worse than none.
    if (used + w > props.width) break;
    row.push(
      { text: ` ${hint.key}`, bold: true, inverse: true },
      { text: ` ${hint.label} `, dim: false },
    );
    used += w;
  }
  return h(RowLine, { row, width: props.width });
}

/**
 * A fixed-height column of lines: the screen's frame never changes height. Its
 * lines are fitted to the width (and the panes clip themselves), so only the
 * height is clipped: a horizontal clip here would make Ink measure and re-slice
 * every line of the screen on every frame.
 */
export function Column(props: {
  readonly width: number;
  readonly height: number;
  readonly children: ReactElement[];
}): ReactElement {
  return h(
    Box,
    { flexDirection: 'column', width: props.width, height: props.height, overflowY: 'hidden' },
    ...props.children,
  );
}
