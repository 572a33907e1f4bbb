import { describe, expect, it } from 'vitest';
import { transitionEffects } from '../src/core/lifecycle/effects.ts';
import { RUN_STATUSES, STATUS_TABLE } from '../src/core/lifecycle/statuses.ts';

describe('what a transition implies (one list both transition paths read)', () => {
  it('a worker going from step to step keeps its run: one statement, no effects', () => {
    expect(transitionEffects({ from: 'pending', to: 'initializing', keepWorker: true })).toEqual(
      [],
    );
    expect(transitionEffects({ from: 'initializing', to: 'planning', keepWorker: true })).toEqual(
      [],
    );
    expect(transitionEffects({ from: 'pending', to: 'initializing', claimFor: 'w#1' })).toEqual([]);
  });

  it('a plan approved waits for a person: nothing else happens', () => {
    expect(
      transitionEffects({ from: 'awaiting_plan_approval', to: 'awaiting_apply_approval' }),
    ).toEqual([]);
  });

  it('an apply confirmed sends the step and supersedes the other waiting plans', () => {
    expect(transitionEffects({ from: 'awaiting_apply_approval', to: 'applying' })).toEqual([
      'send_step',
      'supersede_waiting',
    ]);
    expect(transitionEffects({ from: 'awaiting_apply_approval', to: 'destroying' })).toEqual([
      'send_step',
      'supersede_waiting',
    ]);
  });

  it('a plan ready frees the slot: the next queued run starts', () => {
    expect(transitionEffects({ from: 'planning', to: 'awaiting_plan_approval' })).toEqual([
      'promote_next',
    ]);
    expect(transitionEffects({ from: 'queued', to: 'pending' })).toEqual(['send_step']);
  });

  it('every move into a working status without the worker keeping the run sends a job', () => {
    for (const from of RUN_STATUSES) {
      for (const to of STATUS_TABLE[from].next) {
        const sends = transitionEffects({ from, to }).includes('send_step');
        expect(sends, `${from} -> ${to}`).toBe(STATUS_TABLE[to].working);
        expect(transitionEffects({ from, to, keepWorker: true })).not.toContain('send_step');
      }
    }
  });
});
