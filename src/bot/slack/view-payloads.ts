// What Slack sends from views (modals, the Home tab) and shortcuts, validated
// with zod before anything uses it. Unknown fields are allowed.

import { z } from 'zod';

const id = z.string().min(1).max(255);

/** One input's state in `view.state.values[block_id][action_id]`. */
const inputState = z.looseObject({
  type: z.string(),
  value: z.string().nullable().optional(),
  selected_option: z.looseObject({ value: z.string() }).nullable().optional(),
  selected_options: z.array(z.looseObject({ value: z.string() })).optional(),
  selected_conversation: z.string().nullable().optional(),
});
export type InputState = z.infer<typeof inputState>;

const viewSchema = z.looseObject({
  id,
  hash: z.string().optional(),
  type: z.string(),
  callback_id: z.string().max(255).optional(),
  private_metadata: z.string().max(3000).optional(),
  state: z
    .object({ values: z.record(z.string(), z.record(z.string(), inputState)) })
    .default({ values: {} }),
});
export type ViewPayload = z.infer<typeof viewSchema>;

export const viewSubmissionSchema = z.looseObject({
  type: z.literal('view_submission'),
  user: z.looseObject({ id }),
  view: viewSchema,
  trigger_id: id.optional(),
});
export type ViewSubmission = z.infer<typeof viewSubmissionSchema>;

/** A block_actions payload from inside a view (a modal's dispatch_action, a Home button). */
export const viewActionSchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id }),
  trigger_id: id,
  view: viewSchema,
  actions: z
    .array(
      z.looseObject({
        action_id: id,
        block_id: z.string().max(255).default(''),
        value: z.string().max(2000).optional(),
        selected_option: z.looseObject({ value: z.string() }).nullable().optional(),
      }),
    )
    .min(1),
});
export type ViewAction = z.infer<typeof viewActionSchema>;

export const shortcutSchema = z.looseObject({
  type: z.literal('shortcut'),
  callback_id: id,
  trigger_id: id,
  user: z.looseObject({ id }),
});
