// Freezes and locks as each front end shows them, from the run view's
// `policy`: the Slack run message (within Slack's limits however long the
// reasons and however many locks), the lock replies, the CLI's status and
// next steps, deploy-tui's detail (its L key and x with an override reason:
// tui-state.test.ts).

import { describe, expect, it } from 'vitest';
import { renderLockChanged, renderLockList } from '../src/bot/render/holds.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { formatRun, nextSteps } from '../src/cli/format.ts';
import { detailRows } from '../src/tui/components/run-detail.ts';
import { PLAIN_THEME } from '../src/tui/theme.ts';
import { FREEZE, heldRun, LOCK } from './support/hold-fixtures.ts';

describe('the Slack run message', () => {
  it('shows the freeze with who may override, and each lock, with mentions', () => {
    const message = renderRunMessage(heldRun({ freeze: FREEZE, locks: [LOCK] }));
    const text = JSON.stringify(message.blocks);
    expect(text).toContain('❄ *Frozen* until <!date^1796623200');
    expect(text).toContain('“weekend”. Only <!subteam^S0SRE>, <@U0ONCALL> may apply before then');
    expect(text).toContain('🔒 *Locked* (web-prod) by <@U0LEAD> since');
    expect(text).toContain('`/deploy unlock web-prod`');
    expect(validateBlocks(message.blocks, message.text)).toEqual([]);
  });

  it('stays within Slack’s limits with long reasons and many locks', () => {
    const locks = Array.from({ length: 40 }, (_, i) => ({
      ...LOCK,
      id: `lock-${i}`,
      scope: 'environment' as const,
      target: `env-${'x'.repeat(60)}-${i}`,
      reason: `<&> ${'why '.repeat(400)}`,
    }));
    const freeze = { ...FREEZE, reason: `*${'freeze '.repeat(500)}*` };
    const message = renderRunMessage(heldRun({ freeze, locks }));
    expect(validateBlocks(message.blocks, message.text)).toEqual([]);
    const list = renderLockList(locks, '/deploy');
    expect(validateBlocks(list.blocks, list.text)).toEqual([]);
    expect(JSON.stringify(list.blocks)).toContain('…and');
    const changed = renderLockChanged(locks[0]!, 'locked', '/deploy');
    expect(validateBlocks(changed.blocks, changed.text)).toEqual([]);
  });

  it('an overridden freeze says who overrode it and why', () => {
    const freeze = {
      ...FREEZE,
      overridden: { by: 'U0ONCALL', reason: 'payment outage', at: '2026-12-06T11:00:00.000Z' },
    };
    const text = JSON.stringify(
      renderRunMessage(heldRun({ freeze, locks: [] }, { status: 'completed' })).blocks,
    );
    expect(text).toContain('❄ Applied during the freeze “weekend”: <@U0ONCALL> overrode it');
    expect(text).toContain('“payment outage”');
  });
});

describe('the CLI', () => {
  it('status shows the holds; next steps say how to override, or leave apply out', () => {
    const mayOverride = heldRun(
      { freeze: { ...FREEZE, canOverride: true }, locks: [] },
      { allowed: ['confirm_apply', 'cancel'] },
    );
    const out = formatRun(mayOverride);
    expect(out).toContain(
      '  freeze:    “weekend” until 2026-12-07 06:00 UTC; override: S0SRE, U0ONCALL, with --override-reason (you may)',
    );
    expect(nextSteps(mayOverride)[0]).toBe(
      `deploy-bot apply ${mayOverride.id} --override-reason "why"`,
    );
    const locked = heldRun({ freeze: null, locks: [LOCK] }, { allowed: ['cancel'] });
    expect(formatRun(locked)).toContain(
      '  locked:    web-prod by U0LEAD since 2026-12-06 10:00 UTC: “db failover” (deploy-bot unlock web-prod)',
    );
    expect(nextSteps(locked)).not.toContain(`deploy-bot apply ${locked.id}`);
  });
});

describe('deploy-tui', () => {
  it('the detail pane shows the freeze and the locks', () => {
    const rows = detailRows(
      heldRun({ freeze: { ...FREEZE, canOverride: false }, locks: [LOCK] }),
      [],
      100,
      Date.parse('2026-12-06T12:00:00Z'),
      PLAIN_THEME,
    ).map((r) => r.map((s) => s.text).join(''));
    expect(rows).toContainEqual(
      expect.stringMatching(
        /^Frozen\s+until 2026-12-07 06:00 UTC: “weekend” — override: S0SRE, U0ONCALL$/,
      ),
    );
    expect(rows).toContainEqual(
      expect.stringMatching(/^Locked\s+web-prod by U0LEAD, .*: “db failover”$/),
    );
  });
});
