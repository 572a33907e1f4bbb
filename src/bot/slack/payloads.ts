// What Slack sends, validated with zod before anything uses it. Unknown fields
// are allowed (Slack adds fields over time); the ones the bot relies on are required.

import { z } from 'zod';

const id = z.string().min(1).max(255);

/** A slash command's form body. */
export const slashCommandSchema = z.object({
  command: z.string().min(1).max(64),
  text: z.string().max(8000).default(''),
  user_id: id,
  user_name: z.string().optional(),
  channel_id: id,
  channel_name: z.string().optional(),
  team_id: z.string().optional(),
  response_url: z.url(),
  trigger_id: id,
  api_app_id: z.string().optional(),
});
export type SlashCommand = z.infer<typeof slashCommandSchema>;

const actionSchema = z.object({
  action_id: z.string().min(1).max(255),
  block_id: z.string().max(255).default(''),
  type: z.string(),
  value: z.string().max(2000).optional(),
  action_ts: z.string().optional(),
});

/** A button click (block_actions) on a message. */
export const blockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id, team_id: z.string().optional() }),
  trigger_id: id,
  response_url: z.url().optional(),
  container: z
    .object({
      type: z.string(),
      message_ts: z.string().optional(),
      channel_id: z.string().optional(),
      is_ephemeral: z.boolean().optional(),
    })
    .optional(),
  channel: z.object({ id }).optional(),
  message: z.object({ ts: z.string() }).optional(),
  team: z.object({ id: z.string() }).nullable().optional(),
  actions: z.array(actionSchema).min(1).max(25),
});
export type BlockActions = z.infer<typeof blockActionsSchema>;
export type BlockAction = z.infer<typeof actionSchema>;

/** Interactivity payloads: any type is accepted here; block_actions must be well formed. */
const interactivityEnvelope = z.looseObject({ type: z.string().min(1) });

export type IncomingBody =
  | { readonly kind: 'command'; readonly body: SlashCommand }
  | { readonly kind: 'block_actions'; readonly body: BlockActions }
  | { readonly kind: 'url_verification'; readonly challenge: string }
  | { readonly kind: 'ssl_check' }
  | { readonly kind: 'other'; readonly type: string; readonly body: Record<string, unknown> };

export type ParseResult =
  | {
      readonly ok: true;
      readonly value: IncomingBody;
      /** The body as Slack sent it (form fields, or the JSON payload). */
      readonly raw: Record<string, unknown>;
    }
  | { readonly ok: false; readonly reason: string };

function issues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
    .join('; ');
}

function parseInteractivity(json: unknown): ParseResult {
  const envelope = interactivityEnvelope.safeParse(json);
  if (!envelope.success) return { ok: false, reason: issues(envelope.error) };
  const raw = envelope.data;
  const type = raw.type;
  if (type === 'url_verification') {
    const challenge = raw.challenge;
    return typeof challenge === 'string'
      ? { ok: true, value: { kind: 'url_verification', challenge }, raw }
      : { ok: false, reason: 'url_verification without a challenge' };
  }
  if (type === 'block_actions') {
    const actions = blockActionsSchema.safeParse(raw);
    return actions.success
      ? { ok: true, value: { kind: 'block_actions', body: actions.data }, raw }
      : { ok: false, reason: issues(actions.error) };
  }
  return { ok: true, value: { kind: 'other', type, body: raw }, raw };
}

/** Parses a verified request body the way Slack encodes it. */
export function parseSlackBody(contentType: string | undefined, raw: string): ParseResult {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams(raw);
    if (form.get('ssl_check') === '1') return { ok: true, value: { kind: 'ssl_check' }, raw: {} };
    const payload = form.get('payload');
    if (payload !== null) {
      let json: unknown;
      try {
        json = JSON.parse(payload);
      } catch {
        return { ok: false, reason: 'payload is not JSON' };
      }
      return parseInteractivity(json);
    }
    if (form.has('command')) {
      const raw = Object.fromEntries(form);
      const command = slashCommandSchema.safeParse(raw);
      return command.success
        ? { ok: true, value: { kind: 'command', body: command.data }, raw }
        : { ok: false, reason: issues(command.error) };
    }
    return { ok: false, reason: 'neither a command nor an interactivity payload' };
  }
  if (type === 'application/json') {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return { ok: false, reason: 'body is not JSON' };
    }
    return parseInteractivity(json);
  }
  return { ok: false, reason: `unsupported content type ${JSON.stringify(type)}` };
}
