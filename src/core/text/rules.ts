// The rules that say something about a run, in words every front end shows:
// enforced denials and failures, added approvals, warnings and dry runs.

import type { PolicyEvaluationView } from '../api/types.ts';
import type { RuleResult } from '../policy/rules.ts';

export type RuleLineKind = 'refuses' | 'requires' | 'warns' | 'dry-run';

export type RuleLine = { readonly kind: RuleLineKind; readonly text: string };

/** One line per rule that matched or failed; none for rules that did not match. */
export function ruleLines(results: readonly RuleResult[] | undefined): RuleLine[] {
  return (results ?? []).flatMap((r): RuleLine[] => {
    if (r.error !== null) {
      return r.mode === 'enforce'
        ? [
            {
              kind: 'refuses',
              text: `rule ${r.name} failed (${r.error}): approvals are refused until it is fixed`,
            },
          ]
        : [
            {
              kind: r.mode === 'warn' ? 'warns' : 'dry-run',
              text: `rule ${r.name} (${r.mode}) failed: ${r.error}`,
            },
          ];
    }
    if (!r.matched) return [];
    const what = r.effect === 'deny' ? (r.message ?? 'denies') : 'requires more approvals';
    if (r.mode === 'warn') return [{ kind: 'warns', text: `rule ${r.name} (warn): ${what}` }];
    if (r.mode === 'dry-run')
      return [
        {
          kind: 'dry-run',
          text: `rule ${r.name} (dry-run, not enforced): would ${r.effect === 'deny' ? `refuse: ${what}` : 'require more approvals'}`,
        },
      ];
    return r.effect === 'deny'
      ? [{ kind: 'refuses', text: `rule ${r.name} refuses approvals: ${what}` }]
      : [
          {
            kind: 'requires',
            text: `rule ${r.name} requires more approvals (listed with its name)`,
          },
        ];
  });
}

const MOMENT: Record<PolicyEvaluationView['moment'], string> = {
  plan_ready: 'plan ready',
  approve_plan: 'approve plan',
  confirm_apply: 'confirm apply',
};

/** One evaluation of a run's rules, as the audit shows it (after its time). */
export function evaluationText(e: PolicyEvaluationView): string {
  const who = e.actor ? ` by ${e.actor} (${e.via})` : '';
  const rules =
    e.rules.length === 0
      ? 'no rule matched'
      : e.rules
          .map((r) => `${r.name} [${r.mode} ${r.effect}${r.error !== null ? ' FAILED' : ''}]`)
          .join(', ');
  const version = e.configVersion ? e.configVersion.slice(0, 12) : '—';
  return `policy: ${MOMENT[e.moment]}${who}: ${e.result.toUpperCase()}; ${e.evaluated} rule(s) of config ${version}; ${rules}`;
}
