// The confirmation asked before every action. Cancel takes an optional reason.

import { Box } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { RunView } from '../../core/api/types.ts';
import { sanitize } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { type Row, RowLine } from './row.ts';
import { planSummary } from './run-detail.ts';

export type ActionKind = 'approve' | 'apply' | 'cancel';

export type Dialog = {
  readonly action: ActionKind;
  readonly run: RunView;
  /** The cancel reason typed so far. */
  readonly reason: string;
  readonly busy: boolean;
};

/** Lines the dialog takes, borders included. */
export const DIALOG_HEIGHT = 5;

export function dialogQuestion(d: Dialog): string {
  const r = d.run;
  const where = `${sanitize(r.deployment)} (${sanitize(r.environment)})`;
  switch (d.action) {
    case 'approve':
      return `Approve the plan of ${r.id} for ${where}: ${planSummary(r)}?`;
    case 'apply':
      return r.kind === 'destroy'
        ? `DESTROY ${where} now, with the approved plan of ${r.id}?`
        : `Apply ${r.id} to ${where} now: ${planSummary(r)}?`;
    case 'cancel':
      return `Cancel ${r.id} on ${where}?`;
  }
}

export function ConfirmDialog(props: {
  readonly dialog: Dialog;
  readonly width: number;
  readonly theme: Theme;
}): ReactElement {
  const { dialog, theme } = props;
  const inner = Math.max(10, props.width - 4);
  const danger = dialog.action === 'cancel' || dialog.run.kind === 'destroy';
  const rows: Row[] = [[{ text: dialogQuestion(dialog), bold: true }]];
  if (dialog.action === 'cancel') {
    rows.push([
      { text: 'Reason (optional): ' },
      { text: `${dialog.reason}▏`, color: theme.c('accent') },
    ]);
    rows.push(
      dialog.busy
        ? [{ text: 'working…', dim: true }]
        : [
            { text: ' enter ', inverse: true },
            { text: ' cancel the run   ' },
            { text: ' esc ', inverse: true },
            { text: ' keep it' },
          ],
    );
  } else {
    rows.push([
      {
        text: `as the approver you are; the plan you see is ${dialog.run.plan?.id ?? 'none'}`,
        dim: true,
      },
    ]);
    rows.push(
      dialog.busy
        ? [{ text: 'working…', dim: true }]
        : [
            { text: ' y ', inverse: true },
            {
              text:
                dialog.action === 'approve'
                  ? ' approve   '
                  : dialog.run.kind === 'destroy'
                    ? ' destroy   '
                    : ' apply   ',
            },
            { text: ' n / esc ', inverse: true },
            { text: ' back' },
          ],
    );
  }
  return h(
    Box,
    {
      flexDirection: 'column',
      width: props.width,
      height: DIALOG_HEIGHT,
      borderStyle: 'round',
      borderColor: danger ? theme.c('danger') : theme.c('warning'),
      paddingX: 1,
    },
    ...rows.map((row, i) => h(RowLine, { key: i, row, width: inner })),
  );
}
