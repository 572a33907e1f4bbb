// The bot's sentence for a refusal: the core's words (escaped: they may hold
// what a person typed) and what only Slack can show, from the refusal's
// details: the channels a deployment may be run from, as real channel links.

import { fitEncoded } from './format.ts';
import { escapeMrkdwn } from './limits.ts';

/** A refusal as a front end sees it: the core's sentence, its code and details. */
export type RefusalLike = {
  readonly code: string;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
};

/** Slack channel ids: C…, G… (private), D… (a DM). Anything else is left out. */
const CHANNEL_ID = /^[CGD][A-Z0-9]{2,}$/;

function channelsOf(refusal: RefusalLike): string[] {
  const channels = refusal.details.channels;
  if (!Array.isArray(channels)) return [];
  return channels.filter((c): c is string => typeof c === 'string' && CHANNEL_ID.test(c));
}

/** What Slack adds after the core's sentence, as mrkdwn (links stay links). */
function slackSuffix(refusal: RefusalLike): string {
  if (refusal.code !== 'channel_not_allowed') return '';
  const channels = channelsOf(refusal);
  if (channels.length === 0) return '';
  return `: use ${channels.map((c) => `<#${c}>`).join(' or ')}`;
}

/** The refusal as mrkdwn, at most `max` characters (the core's words shortened, never a link). */
export function refusalMrkdwn(refusal: RefusalLike, max: number): string {
  const suffix = slackSuffix(refusal);
  return `${fitEncoded(refusal.message, Math.max(0, max - suffix.length), escapeMrkdwn)}${suffix}`;
}

/** The refusal as plain text (a form field's error, where Slack shows text as typed). */
export function refusalPlain(refusal: RefusalLike): string {
  return `${refusal.message}${slackSuffix(refusal)}`;
}
