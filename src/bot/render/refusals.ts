// The bot's sentence for a click refused by a policy rule: the rule named,
// what happened and what the person can do (the core's own words otherwise).

export function ruleRefusalText(
  code: string,
  details: Readonly<Record<string, unknown>>,
): string | null {
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
