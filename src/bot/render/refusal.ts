// The bot's sentence for a refusal: the core's words (escaped: they may hold
// what a person typed) and what only Slack can show, from the refusal's
// details: the channels a deployment may be run from, as real channel links;
// for a refusal by a policy rule, the rule named and what to do.

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

/**
 * A refusal by a policy rule, in the bot's words: the rule named, what
 * happened and what the person can do; null for other refusals.
 */
function ruleRefusalText(code: string, details: Readonly<Record<string, unknown>>): string | null {
  const rule = typeof details.rule === 'string' ? details.rule : null;
  if (rule === null) return null;
  if (code === 'rule_denied') {
    const why = typeof details.message === 'string' ? details.message : '';
    return `Refused by the rule "${rule}": ${why}. Nothing was changed; the run keeps waiting, so try again when the rule no longer applies.`;
  }
  if (code === 'rule_failed') {
    const error = typeof details.error === 'string' ? details.error : '';
    return `Refused: the rule "${rule}" could not be evaluated (${error}), and a rule that fails never lets a decision through. Nothing was changed; ask whoever keeps the deploy-bot config to fix the rule (deploy-bot policy test RUN shows each rule's result).`;
  }
  return null;
}

/** The core's sentence, or the bot's own for a refusal by a rule. */
function sentenceOf(refusal: RefusalLike): string {
  return ruleRefusalText(refusal.code, refusal.details) ?? refusal.message;
}

/** The refusal as mrkdwn, at most `max` characters (the core's words shortened, never a link). */
export function refusalMrkdwn(refusal: RefusalLike, max: number): string {
  const suffix = slackSuffix(refusal);
  return `${fitEncoded(sentenceOf(refusal), Math.max(0, max - suffix.length), escapeMrkdwn)}${suffix}`;
}

/** The refusal as plain text (a form field's error, where Slack shows text as typed). */
export function refusalPlain(refusal: RefusalLike): string {
  return `${sentenceOf(refusal)}${slackSuffix(refusal)}`;
}
