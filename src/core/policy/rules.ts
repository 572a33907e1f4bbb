// Rules on the run and its plan: the outcome the decision path reads. This is
// the shared contract's shape only; evaluating `rules:` (CEL) comes with the
// rules work, which replaces this file.

import type { Requirement } from './requirements.ts';

export type RuleMode = 'enforce' | 'warn' | 'dry-run';

export type RuleResult = {
  readonly name: string;
  readonly mode: RuleMode;
  readonly effect: 'require' | 'deny';
  readonly matched: boolean;
  /** The deny text. */
  readonly message: string | null;
  /** A runtime failure (fails closed when enforce). */
  readonly error: string | null;
};

export type RulesOutcome = {
  readonly results: readonly RuleResult[];
  /** Extra entries from matched enforce `require` rules, per stage. */
  readonly require: {
    readonly plan: readonly Requirement[];
    readonly apply: readonly Requirement[];
  };
  /** Matched enforce deny rules and enforce rules that failed. */
  readonly denials: readonly {
    readonly rule: string;
    readonly message: string;
    readonly failed: boolean;
  }[];
};

export const NO_RULES: RulesOutcome = {
  results: [],
  require: { plan: [], apply: [] },
  denials: [],
};
