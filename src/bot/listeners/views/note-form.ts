// The run message's "⋯" menu: "Approve with a note" (or "Apply with a note")
// and "Cancel with a reason" open a small form; its submission decides like
// the buttons (the same core call, bound to the same run and plan, acting as
// in the run's channel) with the note stored with the approval, or the reason
// with the cancellation. An empty note keeps the form open with a message.
// Apply during a freeze, pressed by someone who may override it, opens the
// same form asking why: the reason is the override's (stored, shown, audited).

import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { Actor } from '../../../core/api/types.ts';
import { isRefusal } from '../../../core/errors.ts';
import { NOTE_ACTION_ID, type NoteKind, parseNoteOption } from '../../render/actions.ts';
import { escapeMrkdwn } from '../../render/limits.ts';
import { renderClickRefused, renderProblem } from '../../render/replies.ts';
import { VIEW_LIMITS } from '../../render/view-limits.ts';
import { createReply } from '../../slack/respond.ts';
import { viewSubmissionSchema } from '../../slack/view-payloads.ts';
import { getMessageRow } from '../../store/messages.ts';
import type { BotContext } from '../context.ts';

export const NOTE_FORM = { callbackId: 'run_note', block: 'note', action: 'note' } as const;
const MAX_NOTE = 500;

const overflowSchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string().min(1) }),
  trigger_id: z.string().min(1),
  container: z.looseObject({ channel_id: z.string().optional() }).optional(),
  channel: z.looseObject({ id: z.string() }).optional(),
  actions: z
    .array(
      z.looseObject({
        action_id: z.string(),
        selected_option: z.looseObject({ value: z.string() }).optional(),
      }),
    )
    .min(1),
});

const metadata = z.object({
  kind: z.enum(['approve_plan', 'confirm_apply', 'cancel_run', 'override_apply']),
  runId: z.string().min(1),
  version: z.number().int(),
  planId: z.string().nullable(),
  /** For an override: what the freeze is (the refusal's sentence). */
  about: z.string().max(1000).optional(),
});
type FormKind = NoteKind | 'override_apply';
export type NoteFormValue = z.infer<typeof metadata>;

const TITLES: Record<FormKind, { title: string; label: string; submit: string; hint: string }> = {
  approve_plan: {
    title: 'Approve the plan',
    label: 'Note',
    submit: 'Approve plan',
    hint: 'Stored with your approval; shown on the run message, in the audit, the CLI and deploy-tui.',
  },
  confirm_apply: {
    title: 'Confirm',
    label: 'Note',
    submit: 'Confirm',
    hint: 'Stored with your approval; shown on the run message, in the audit, the CLI and deploy-tui.',
  },
  cancel_run: {
    title: 'Cancel the run',
    label: 'Reason',
    submit: 'Cancel run',
    hint: 'Shown on the run message, in the audit, the CLI and deploy-tui.',
  },
  override_apply: {
    title: 'Override the freeze',
    label: 'Why apply during the freeze?',
    submit: 'Apply anyway',
    hint: 'Required: stored with your confirmation; shown on the run message, in the audit, the CLI and deploy-tui.',
  },
};

export function renderNoteForm(value: NoteFormValue): Record<string, unknown> {
  const t = TITLES[value.kind];
  const about = value.about !== undefined ? `\n${escapeMrkdwn(value.about)}` : '';
  return {
    type: 'modal',
    callback_id: NOTE_FORM.callbackId,
    title: { type: 'plain_text', text: t.title },
    submit: { type: 'plain_text', text: t.submit },
    close: { type: 'plain_text', text: 'Back' },
    private_metadata: JSON.stringify(value).slice(0, VIEW_LIMITS.privateMetadata),
    blocks: [
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `Run \`${value.runId}\`${about}`.slice(0, 3000) },
      },
      {
        type: 'input',
        block_id: NOTE_FORM.block,
        label: { type: 'plain_text', text: t.label },
        hint: { type: 'plain_text', text: t.hint },
        element: {
          type: 'plain_text_input',
          action_id: NOTE_FORM.action,
          multiline: true,
          max_length: MAX_NOTE,
        },
      },
    ],
  };
}

export function registerNoteForm(app: App, ctx: BotContext): void {
  app.action(NOTE_ACTION_ID, async ({ ack, body }) => {
    await ack();
    const parsed = overflowSchema.safeParse(body);
    if (!parsed.success) {
      ctx.log.warn('malformed overflow payload');
      return;
    }
    const option = parseNoteOption(
      parsed.data.actions.find((a) => a.action_id === NOTE_ACTION_ID)?.selected_option?.value,
    );
    if (option === null) return;
    try {
      await ctx.client.views.open({
        trigger_id: parsed.data.trigger_id,
        view: renderNoteForm(option) as never,
      });
    } catch (error) {
      ctx.log.warn('could not open the note form', { error });
    }
  });

  app.view(NOTE_FORM.callbackId, async ({ ack, body }) => {
    const parsed = viewSubmissionSchema.safeParse(body);
    const meta = parsed.success
      ? metadata.safeParse(
          (() => {
            try {
              return JSON.parse(parsed.data.view.private_metadata ?? '');
            } catch {
              return null;
            }
          })(),
        )
      : null;
    if (!parsed.success || meta === null || !meta.success) {
      await ack({
        response_action: 'errors',
        errors: {
          [NOTE_FORM.block]: 'deploy-bot could not read this form: use the buttons instead',
        },
      });
      return;
    }
    const note =
      parsed.data.view.state.values[NOTE_FORM.block]?.[NOTE_FORM.action]?.value?.trim() ?? '';
    if (note === '') {
      await ack({
        response_action: 'errors',
        errors: {
          [NOTE_FORM.block]:
            meta.data.kind === 'cancel_run'
              ? 'write the reason, or close this form and use Cancel'
              : meta.data.kind === 'override_apply'
                ? 'write why the apply cannot wait for the freeze to end'
                : 'write the note, or close this form and use the button',
        },
      });
      return;
    }
    await ack();
    const { kind, runId, planId } = meta.data;
    const user = parsed.data.user.id;
    const row = await getMessageRow(ctx.core.store, runId);
    const channel = row?.channel;
    const log = ctx.log.child({ userId: user, channel, runId, kind });
    const reply = createReply(
      { responseUrl: undefined, channel, user },
      { client: ctx.client, log },
    );
    // Acts as in the run's channel: its channel rule applies, as for the buttons.
    const actor: Actor = { id: user, via: 'slack', channel };
    try {
      const options = { planId: planId ?? undefined };
      const run =
        kind === 'approve_plan'
          ? await ctx.core.approvePlan(runId, actor, { ...options, note })
          : kind === 'confirm_apply'
            ? await ctx.core.confirmApply(runId, actor, { ...options, note })
            : kind === 'override_apply'
              ? await ctx.core.confirmApply(runId, actor, { ...options, overrideReason: note })
              : await ctx.core.cancelRun(runId, actor, { reason: note });
      ctx.outbox.poke(run.id);
      log.info('decided with a note', { status: run.status });
    } catch (error) {
      if (!isRefusal(error)) {
        log.error('deciding with a note failed', { error });
        await reply(
          renderProblem(
            `deploy-bot could not do that: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
        return;
      }
      log.info('note form refused', { code: error.code });
      await ctx.outbox.redeliver(runId);
      await reply(renderClickRefused(error, await ctx.core.getRun(runId).catch(() => null)));
    }
  });
}

/** Opens the form asking why an apply goes ahead during a freeze; false when Slack would not. */
export async function openOverrideForm(
  ctx: BotContext,
  triggerId: string,
  value: Omit<NoteFormValue, 'kind'>,
): Promise<boolean> {
  try {
    await ctx.client.views.open({
      trigger_id: triggerId,
      view: renderNoteForm({ ...value, kind: 'override_apply' }) as never,
    });
    return true;
  } catch (error) {
    ctx.log.warn('could not open the override form', { error });
    return false;
  }
}
