// The rules that matched, as each front end shows them from the same run view:
// the Slack message (within Slack's limits), the CLI's status, deploy-tui's
// detail; and the refusal sentences for rule_denied / rule_failed.

import { describe, expect, it } from 'vitest';
import { blocksTextLength, LIMITS, validateBlocks } from '../src/bot/render/limits.ts';
import { renderClickRefused } from '../src/bot/render/replies.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { formatRun } from '../src/cli/format.ts';
import { auditEntries, formatEvaluation } from '../src/cli/policy.ts';
import { refusalSentence } from '../src/cli/refusals.ts';
import type { PolicyEvaluationView, RunView } from '../src/core/api/types.ts';
import type { RuleResult } from '../src/core/policy/rules.ts';
import { detailRows } from '../src/tui/components/run-detail.ts';
import { PLAIN_THEME } from '../src/tui/theme.ts';
import { fixturePolicy, makeRun } from './support/run-fixtures.ts';

const result = (r: Partial<RuleResult> & Pick<RuleResult, 'name'>): RuleResult => ({
  mode: 'enforce',
  effect: 'deny',
  matched: true,
  message: null,
  error: null,
  ...r,
});

const RULES: RuleResult[] = [
  result({ name: 'no-friday-prod', message: 'no production deploys after 15:00 on Fridays' }),
  result({ name: 'destroys-need-security', effect: 'require' }),
  result({ name: 'big-changes', mode: 'warn', message: 'more than 20 changes' }),
  result({ name: 'try-db', mode: 'dry-run', effect: 'require' }),
  result({ name: 'broken', matched: false, error: 'No such key: replicas (column 15)' }),
  result({ name: 'quiet', matched: false, message: 'never' }),
];

function runWith(rules: RuleResult[], status: RunView['status'] = 'awaiting_plan_approval') {
  const base = fixturePolicy([]);
  return makeRun({ status, policy: { ...base, rules } });
}

const tuiText = (run: RunView) =>
  detailRows(run, [], 120, Date.parse('2024-05-01T12:10:00Z'), PLAIN_THEME)
    .map((r) => r.map((s) => s.text).join(''))
    .join('\n');

describe('matched rules in every front end', () => {
  it('CLI status: a rules: line per rule that matched or failed, none for the others', () => {
    const text = formatRun(runWith(RULES));
    expect(text).toContain(
      'rules:     rule no-friday-prod refuses approvals: no production deploys after 15:00 on Fridays',
    );
    expect(text).toContain(
      'rules:     rule destroys-need-security requires more approvals (listed with its name)',
    );
    expect(text).toContain('rules:     rule big-changes (warn): more than 20 changes');
    expect(text).toContain(
      'rules:     rule try-db (dry-run, not enforced): would require more approvals',
    );
    expect(text).toContain(
      'rules:     rule broken failed (No such key: replicas (column 15)): approvals are refused until it is fixed',
    );
    expect(text).not.toContain('quiet');
  });

  it('the Slack message lists them while the run waits, within Slack’s limits', () => {
    const message = renderRunMessage(runWith(RULES));
    expect(validateBlocks(message.blocks, message.text)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('⛔ rule no-friday-prod refuses approvals');
    expect(text).toContain('⚠️ rule big-changes (warn): more than 20 changes');
    expect(text).toContain('🧪 rule try-db (dry-run, not enforced)');
    expect(text).toContain('➕ rule destroys-need-security requires more approvals');
    // Once the run moved on they are no longer news.
    expect(JSON.stringify(renderRunMessage(runWith(RULES, 'completed')).blocks)).not.toContain(
      'no-friday-prod',
    );
  });

  it('Slack: 200 matched rules with long sentences stay within the limits', () => {
    const many = Array.from({ length: 200 }, (_, i) =>
      result({ name: `rule-${i}`, message: 'x'.repeat(490) }),
    );
    const message = renderRunMessage(runWith(many));
    expect(validateBlocks(message.blocks, message.text)).toEqual([]);
    expect(blocksTextLength(message.blocks)).toBeLessThanOrEqual(LIMITS.totalText);
    expect(JSON.stringify(message.blocks)).toMatch(/…and \d+ more rules/);
  });

  it('deploy-tui detail shows them under Approvals', () => {
    const text = tuiText(runWith(RULES));
    expect(text).toContain('rule no-friday-prod refuses approvals');
    expect(text).toContain('rule big-changes (warn): more than 20 changes');
  });
});

describe('rule evaluations in the audit', () => {
  const evaluation: PolicyEvaluationView = {
    moment: 'approve_plan',
    actor: 'U0ALICE',
    via: 'slack',
    configVersion: '8c0774cb0592aa',
    result: 'denied',
    evaluated: 3,
    rules: [RULES[0] as RuleResult, RULES[2] as RuleResult],
    at: '2024-05-01T12:05:00.000Z',
  };

  it('CLI audit and deploy-tui show the same line', () => {
    const line =
      'policy: approve plan by U0ALICE (slack): DENIED; 3 rule(s) of config 8c0774cb0592; no-friday-prod [enforce deny], big-changes [warn deny]';
    expect(formatEvaluation(evaluation)).toBe(`2024-05-01T12:05:00.000Z  ${line}`);
    const rows = detailRows(
      runWith([]),
      [],
      200,
      Date.parse('2024-05-01T12:10:00Z'),
      PLAIN_THEME,
      [],
      [evaluation],
    ).map((r) => r.map((x) => x.text).join(''));
    expect(rows.join('\n')).toContain('Rule evaluations');
    expect(rows.join('\n')).toContain(line);
  });

  it('the audit lists status changes and evaluations by time; a decision’s evaluation before its change', () => {
    const t = (at: string, to: RunView['status']) => ({
      from: null,
      to,
      actor: 'U0ALICE',
      via: 'slack' as const,
      reason: null,
      credential: null,
      at,
    });
    const entries = auditEntries(
      [
        t('2024-05-01T12:00:00.000Z', 'awaiting_plan_approval'),
        t('2024-05-01T12:05:00.000Z', 'awaiting_apply_approval'),
      ],
      [
        { ...evaluation, result: 'allowed', at: '2024-05-01T12:05:00.000Z' },
        {
          ...evaluation,
          moment: 'plan_ready',
          actor: null,
          via: null,
          at: '2024-05-01T12:00:00.000Z',
        },
      ],
    );
    expect(entries.map((e) => (e.entry === 'policy' ? e.moment : e.to))).toEqual([
      'awaiting_plan_approval',
      'plan_ready',
      'approve_plan',
      'awaiting_apply_approval',
    ]);
  });
});

describe('refusals by a rule', () => {
  const denied = {
    code: 'rule_denied',
    message: 'refused by rule "no-friday-prod": no production deploys after 15:00 on Fridays',
    details: { rule: 'no-friday-prod', message: 'no production deploys after 15:00 on Fridays' },
  };
  const failed = {
    code: 'rule_failed',
    message: 'refused: the condition of rule "broken" failed (No such key: replicas)',
    details: { rule: 'broken', error: 'No such key: replicas' },
  };

  it('Slack names the rule and what to do', () => {
    expect(renderClickRefused(denied, null).text).toBe(
      '✗ Refused by the rule "no-friday-prod": no production deploys after 15:00 on Fridays. Nothing was changed; the run keeps waiting, so try again when the rule no longer applies.',
    );
    expect(renderClickRefused(failed, null).text).toContain(
      'Refused: the rule "broken" could not be evaluated (No such key: replicas)',
    );
  });

  it('the CLI adds the command that shows more', () => {
    expect(refusalSentence('rule_denied', denied.message, denied.details)).toContain(
      '(deploy-bot audit RUN lists each evaluation of the run',
    );
    expect(refusalSentence('rule_failed', failed.message, failed.details)).toContain(
      'deploy-bot policy test RUN shows each rule',
    );
  });
});
