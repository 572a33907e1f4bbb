// The rules that say something about a run, in words every front end shows:
// enforced denials and failures, added approvals, warnings and dry runs.

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
