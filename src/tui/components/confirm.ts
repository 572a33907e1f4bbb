// The confirmation asked before every action. Cancel takes an optional reason;
// a lock, and an apply that overrides a freeze, a required one.

import { Box } from 'ink';
import { createElement as h, type ReactElement } from 'react';
import type { RunView } from '../../core/api/types.ts';
import { sanitize } from '../text/width.ts';
import type { Theme } from '../theme.ts';
import { type Row, RowLine } from './row.ts';
import { planSummary } from './run-detail.ts';

export type ActionKind = 'approve' | 'apply' | 'cancel' | 'lock' | 'unlock';

export type Dialog = {
  readonly action: ActionKind;
  readonly run: RunView;
  /** The reason typed so far (cancel, lock, an override). */
  readonly reason: string;
  readonly busy: boolean;
};

/** An apply during a freeze by someone who may override it: a reason is required. */
export function isOverride(d: Pick<Dialog, 'action' | 'run'>): boolean {
  const freeze = d.run.policy?.freeze;
  return d.action === 'apply' && freeze?.canOverride === true && freeze.overridden === null;
}

/** Whether the dialog asks for text: null when not, else whether it is required. */
export function reasonAsked(d: Pick<Dialog, 'action' | 'run'>): 'optional' | 'required' | null {
  if (d.action === 'cancel') return 'optional';
  if (d.action === 'lock' || isOverride(d)) return 'required';
  return null;
}

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
    case 'lock':
      return `Lock ${sanitize(r.deployment)}: no apply or destroy until unlocked. Why?`;
    case 'unlock':
      return `Unlock ${sanitize(r.deployment)} (locked: ${sanitize(r.policy?.locks.find((l) => l.scope === 'deployment')?.reason ?? '')})?`;
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
  const asked = reasonAsked(dialog);
  const override = isOverride(dialog);
  const question = override
    ? `${dialogQuestion(dialog)} It is frozen (“${sanitize(dialog.run.policy?.freeze?.reason ?? '')}”): you may override it, saying why.`
    : dialogQuestion(dialog);
  const rows: Row[] = [[{ text: question, bold: true }]];
  if (asked !== null) {
    rows.push([
      { text: `Reason (${asked}): ` },
      { text: `${dialog.reason}▏`, color: theme.c('accent') },
    ]);
    const does =
      dialog.action === 'cancel'
        ? ' cancel the run   '
        : dialog.action === 'lock'
          ? ' lock   '
          : ' apply anyway   ';
    rows.push(
      dialog.busy
        ? [{ text: 'working…', dim: true }]
        : [
            { text: ' enter ', inverse: true },
            { text: does },
            { text: ' esc ', inverse: true },
            { text: dialog.action === 'cancel' ? ' keep it' : ' back' },
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
                  : dialog.action === 'unlock'
                    ? ' unlock   '
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
