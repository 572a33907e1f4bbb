// Freezes and locks as each front end shows them, from the run view's
// `policy`: the Slack run message (within Slack's limits however long the
// reasons and however many locks), the lock replies, the CLI's status and
// next steps, deploy-tui's detail; and deploy-tui's L key and x with an
// override reason, through the reducer and the actions.

import { describe, expect, it } from 'vitest';
import { renderLockChanged, renderLockList } from '../src/bot/render/holds.ts';
import { validateBlocks } from '../src/bot/render/limits.ts';
import { renderRunMessage } from '../src/bot/render/run-message.ts';
import { formatRun, nextSteps } from '../src/cli/format.ts';
import type { Actor, FreezeView, HoldsView, LockView, RunView } from '../src/core/api/types.ts';
import { performAction } from '../src/tui/actions.ts';
import { detailRows } from '../src/tui/components/run-detail.ts';
import type { RunsSnapshot } from '../src/tui/data/runs-store.ts';
import { keyOf } from '../src/tui/keys.ts';
import {
  type DashboardState,
  type Effect,
  INITIAL_STATE,
  reduce,
  type See,
} from '../src/tui/state/dashboard.ts';
import { viewOf } from '../src/tui/state/view.ts';
import { PLAIN_THEME } from '../src/tui/theme.ts';
import { makePlan, makeRun } from './support/run-fixtures.ts';
import { FakeCore } from './support/tui-fake-core.ts';

const LOCK: LockView = {
  id: 'lock-1',
  scope: 'deployment',
  target: 'web-prod',
  reason: 'db failover',
  by: 'U0LEAD',
  via: 'slack',
  at: '2026-12-06T10:00:00.000Z',
};
const FREEZE: FreezeView = {
  reason: 'weekend',
  endsAt: '2026-12-07T06:00:00.000Z',
  overrideFrom: ['S0SRE', 'U0ONCALL'],
  overridden: null,
};

const NO_STAGE = { satisfied: false, entries: [] };

function held(holds: HoldsView, extra: Partial<RunView> = {}): RunView {
  return makeRun({
    status: 'awaiting_apply_approval',
    plan: makePlan(),
    policy: { plan: NO_STAGE, apply: NO_STAGE, rules: [], ...holds },
    ...extra,
  });
}

describe('the Slack run message', () => {
  it('shows the freeze with who may override, and each lock, with mentions', () => {
    const message = renderRunMessage(held({ freeze: FREEZE, locks: [LOCK] }));
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
    const message = renderRunMessage(held({ freeze, locks }));
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
      renderRunMessage(held({ freeze, locks: [] }, { status: 'completed' })).blocks,
    );
    expect(text).toContain('❄ Applied during the freeze “weekend”: <@U0ONCALL> overrode it');
    expect(text).toContain('“payment outage”');
  });
});

describe('the CLI', () => {
  it('status shows the holds; next steps say how to override, or leave apply out', () => {
    const mayOverride = held(
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
    const locked = held({ freeze: null, locks: [LOCK] }, { allowed: ['cancel'] });
    expect(formatRun(locked)).toContain(
      '  locked:    web-prod by U0LEAD since 2026-12-06 10:00 UTC: “db failover” (deploy-bot unlock web-prod)',
    );
    expect(nextSteps(locked)).not.toContain(`deploy-bot apply ${locked.id}`);
  });
});

const ALICE: Actor = { id: 'U0ALICE', via: 'tui' };

function seeOf(runs: RunView[]): See {
  return (state) =>
    viewOf(state, {
      runs: {
        query: { group: 'all', deployment: null, environment: null },
        runs,
        loaded: true,
        error: null,
        connected: true,
        lostSince: null,
        deployments: ['web-prod'],
        environments: ['production'],
        lastLoadMs: 1,
      } as RunsSnapshot,
      detail: null,
      actor: ALICE,
      width: 120,
      height: 40,
      detailRowCount: () => 30,
    });
}

function type(state: DashboardState, text: string, see: See) {
  const effects: Effect[] = [];
  let s = state;
  for (const ch of text) {
    const step = reduce(s, { type: 'key', input: ch, key: keyOf(ch) }, see);
    s = step.state;
    effects.push(...step.effects);
  }
  return { state: s, effects };
}

describe('deploy-tui', () => {
  it('L asks why and locks the run’s deployment; on a locked one it unlocks', async () => {
    const run = held({ freeze: null, locks: [] });
    const see = seeOf([run]);
    const asked = type(INITIAL_STATE, 'L', see);
    expect(asked.state.dialog).toMatchObject({ action: 'lock', reason: '' });
    // A lock needs a reason: enter without one does nothing.
    expect(type(asked.state, '\r', see).effects).toEqual([]);
    const typed = type(asked.state, 'db failover\r', see);
    expect(typed.effects).toEqual([
      {
        type: 'perform',
        dialog: expect.objectContaining({ action: 'lock', reason: 'db failover' }),
      },
    ]);
    const core = new FakeCore();
    const dialog = (typed.effects[0] as Extract<Effect, { type: 'perform' }>).dialog;
    const outcome = await performAction(core, ALICE, dialog);
    expect(outcome.message).toEqual({ kind: 'success', text: 'locked web-prod: “db failover”' });
    expect(core.locks).toMatchObject([{ scope: 'deployment', target: 'web-prod', by: 'U0ALICE' }]);

    const lockedSee = seeOf([held({ freeze: null, locks: [LOCK] })]);
    const unlock = type(type(INITIAL_STATE, 'L', lockedSee).state, 'y', lockedSee);
    const unlockDialog = (unlock.effects[0] as Extract<Effect, { type: 'perform' }>).dialog;
    expect(unlockDialog.action).toBe('unlock');
    expect((await performAction(core, ALICE, unlockDialog)).message.text).toBe(
      'unlocked web-prod: “db failover”',
    );
    expect(core.locks).toEqual([]);
  });

  it('x during a freeze asks the person who may override why, and sends the reason', () => {
    const run = held(
      { freeze: { ...FREEZE, canOverride: true }, locks: [] },
      { allowed: ['confirm_apply', 'cancel'] },
    );
    const see = seeOf([run]);
    const asked = type(INITIAL_STATE, 'x', see);
    expect(type(asked.state, 'y', see).effects).toEqual([]);
    const typed = type(asked.state, 'hotfix\r', see);
    expect(typed.effects[0]).toMatchObject({
      type: 'perform',
      dialog: { action: 'apply', reason: 'hotfix' },
    });
  });

  it('the detail pane shows the freeze and the locks', () => {
    const rows = detailRows(
      held({ freeze: { ...FREEZE, canOverride: false }, locks: [LOCK] }),
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
