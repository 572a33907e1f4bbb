// deploy-tui's reducer, without a terminal: keys to state and effects.

import { describe, expect, it } from 'vitest';
import type { Actor, RunView } from '../src/core/api/types.ts';
import { performAction } from '../src/tui/actions.ts';
import type { RunsSnapshot } from '../src/tui/data/runs-store.ts';
import { keyOf } from '../src/tui/keys.ts';
import {
  type DashboardState,
  type Effect,
  INITIAL_STATE,
  reduce,
  type See,
} from '../src/tui/state/dashboard.ts';
import { DashboardStore } from '../src/tui/state/store.ts';
import { viewOf } from '../src/tui/state/view.ts';
import { FREEZE, heldRun, LOCK } from './support/hold-fixtures.ts';
import { makePlan, makeRun } from './support/run-fixtures.ts';
import { FakeCore } from './support/tui-fake-core.ts';

const ALICE: Actor = { id: 'U0ALICE', via: 'tui' };

function snapshot(runs: RunView[]): RunsSnapshot {
  return {
    query: { group: 'all', deployment: null, environment: null },
    runs,
    loaded: true,
    error: null,
    connected: true,
    lostSince: null,
    deployments: ['web', 'api'],
    environments: ['production'],
    lastLoadMs: 1,
  } as RunsSnapshot;
}

function seeOf(runs: RunView[], actor: Actor | null = ALICE): See {
  return (state) =>
    viewOf(state, {
      runs: snapshot(runs),
      detail: null,
      actor,
      width: 120,
      height: 40,
      detailRowCount: () => 30,
    });
}

/** Types `text` key by key, as a chunk of input is taken. */
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

describe('the dashboard reducer', () => {
  const runs = [
    makeRun({ id: 'run-3', deployment: 'web', status: 'awaiting_plan_approval', plan: makePlan() }),
    makeRun({ id: 'run-2', deployment: 'api', status: 'completed' }),
    makeRun({ id: 'run-1', deployment: 'web', status: 'failed' }),
  ];
  const see = seeOf(runs);

  it('moves the selection and opens the selected run; keys in one chunk see each other', () => {
    const { state } = type(INITIAL_STATE, 'jj\r', see);
    expect(state.selectedId).toBe('run-1');
    expect(state.openRunId).toBe('run-1');
    expect(state.pane).toBe('detail');
    expect(type(state, '\u001b', see).state.openRunId).toBe('run-1'); // esc alone is not a chunk
  });

  it('asks before acting, then hands the confirmed action to the effect runner', () => {
    const asked = type(INITIAL_STATE, 'a', see);
    expect(asked.state.dialog).toMatchObject({ action: 'approve', busy: false });
    expect(asked.state.dialog?.run.id).toBe('run-3');
    const confirmed = type(asked.state, 'y', see);
    expect(confirmed.state.dialog?.busy).toBe(true);
    expect(confirmed.effects).toEqual([{ type: 'perform', dialog: asked.state.dialog }]);
    // Keys while the action runs change nothing.
    expect(type(confirmed.state, 'n', see).state).toBe(confirmed.state);
    const done = reduce(
      confirmed.state,
      { type: 'performed', message: { kind: 'success', text: 'plan approved' } },
      see,
    );
    expect(done.state.dialog).toBeNull();
    expect(done.state.message?.text).toBe('plan approved');
  });

  it('says why an action cannot be asked, and that read-only means no actions', () => {
    const onCompleted = type(INITIAL_STATE, 'jx', see);
    expect(onCompleted.state.dialog).toBeNull();
    expect(onCompleted.state.message?.text).toBe('nothing to apply: run-2 is completed');
    const readOnly = type(INITIAL_STATE, 'a', seeOf(runs, null));
    expect(readOnly.state.message?.text).toMatch(/^read-only: set DEPLOY_TUI_USER/);
  });

  it('types a cancel reason, capped, and sends it with the confirmation', () => {
    let { state } = type(INITIAL_STATE, 'c', see);
    state = type(state, 'not today\u007fY', see).state;
    expect(state.dialog?.reason).toBe('not todaY');
    const { effects } = type(state, '\r', see);
    expect(effects[0]).toMatchObject({ type: 'perform', dialog: { reason: 'not todaY' } });
    const long = type(type(INITIAL_STATE, 'c', see).state, 'x'.repeat(300), see).state;
    expect(long.dialog?.reason).toHaveLength(200);
  });

  it('searches as you type and esc clears the search', () => {
    const { state } = type(INITIAL_STATE, '/api', see);
    expect(state).toMatchObject({ searching: true, search: 'api' });
    expect(viewOf(state, see(state).data).runs.map((r) => r.id)).toEqual(['run-2']);
    const cleared = reduce(
      state,
      { type: 'key', input: '', key: { ...keyOf(''), escape: true } },
      see,
    );
    expect(cleared.state).toMatchObject({ searching: false, search: '' });
  });

  it('filters through the runs store, and quits through the runner', () => {
    expect(type(INITIAL_STATE, '2', see).effects).toEqual([
      { type: 'query', query: { group: 'awaiting_approval', deployment: null, environment: null } },
    ]);
    expect(type(INITIAL_STATE, 'd', see).effects).toEqual([
      { type: 'query', query: { group: 'all', deployment: 'web', environment: null } },
    ]);
    expect(type(INITIAL_STATE, 'q', see).effects).toEqual([{ type: 'quit' }]);
  });

  it('scrolls the log pane through log effects and the detail pane within its rows', () => {
    let { state } = type(INITIAL_STATE, '\r', see);
    state = type(state, 'jjjjG', see).state;
    // 30 rows, (40 - 3) * 0.45 = 16 rows tall: 15 visible, so the last top is 15.
    expect(state.detailTop).toBe(15);
    const onLog = type(state, '\tkf', see);
    expect(onLog.state.pane).toBe('log');
    expect(onLog.effects).toEqual([
      { type: 'log', op: 'up' },
      { type: 'log', op: 'toggleFollow' },
    ]);
  });

  it('the help screen takes the next key only to close', () => {
    const { state } = type(INITIAL_STATE, '?', see);
    expect(state.help).toBe(true);
    const next = type(state, 'q', see);
    expect(next.state.help).toBe(false);
    expect(next.effects).toEqual([]);
  });

  it('a store reduces at once, tells its subscribers, and runs the effects', () => {
    const effects: Effect[] = [];
    const store = new DashboardStore(
      () => see,
      (e) => effects.push(e),
    );
    let told = 0;
    store.subscribe(() => told++);
    store.dispatch({ type: 'key', input: 'j', key: keyOf('j') });
    store.dispatch({ type: 'key', input: 'q', key: keyOf('q') });
    expect(store.getSnapshot().selectedId).toBe('run-2');
    expect(told).toBe(1);
    expect(effects).toEqual([{ type: 'quit' }]);
  });
});

describe('freezes and locks in the dashboard', () => {
  it('L asks why and locks the run’s deployment; on a locked one it unlocks', async () => {
    const run = heldRun({ freeze: null, locks: [] });
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

    const lockedSee = seeOf([heldRun({ freeze: null, locks: [LOCK] })]);
    const unlock = type(type(INITIAL_STATE, 'L', lockedSee).state, 'y', lockedSee);
    const unlockDialog = (unlock.effects[0] as Extract<Effect, { type: 'perform' }>).dialog;
    expect(unlockDialog.action).toBe('unlock');
    expect((await performAction(core, ALICE, unlockDialog)).message.text).toBe(
      'unlocked web-prod: “db failover”',
    );
    expect(core.locks).toEqual([]);
  });

  it('x during a freeze asks the person who may override why, and sends the reason', () => {
    const run = heldRun(
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
});
