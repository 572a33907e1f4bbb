// The bot's sentence for a refused click: the core's words, or for a refusal by
// a policy rule, the rule named in Slack's style and what the person can do.

import type { Refusal } from '../../core/errors.ts';

export function refusalText(refusal: Refusal): string {
  const rule = typeof refusal.details.rule === 'string' ? refusal.details.rule : null;
  if (rule !== null && refusal.code === 'rule_denied') {
    const why = typeof refusal.details.message === 'string' ? refusal.details.message : '';
    return `Refused by the rule "${rule}": ${why}. Nothing was changed; the run keeps waiting, so try again when the rule no longer applies.`;
  }
  if (rule !== null && refusal.code === 'rule_failed') {
    const error = typeof refusal.details.error === 'string' ? refusal.details.error : '';
    return `Refused: the rule "${rule}" could not be evaluated (${error}), and a rule that fails never lets a decision through. Nothing was changed; ask whoever keeps the deploy-bot config to fix the rule (deploy-bot policy test RUN shows each rule's result).`;
  }
  return refusal.message;
}
