// The dashboard's state held outside React, like the data stores: a key is
// reduced at once (so keys that arrive in one chunk see each other's effect),
// the screen subscribes, and effects go to the runner the app gives.

import {
  type DashboardEvent,
  type DashboardState,
  type Effect,
  INITIAL_STATE,
  reduce,
  type See,
} from './dashboard.ts';

export type EffectRunner = (effect: Effect, dispatch: (event: DashboardEvent) => void) => void;

export class DashboardStore {
  private state: DashboardState = INITIAL_STATE;
  private readonly listeners = new Set<() => void>();
  private readonly see: () => See;
  private readonly runEffect: EffectRunner;

  /** `see` and `runEffect` are read at each event: they may close over the latest render. */
  constructor(see: () => See, runEffect: EffectRunner) {
    this.see = see;
    this.runEffect = runEffect;
  }

  readonly getSnapshot = (): DashboardState => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly dispatch = (event: DashboardEvent): void => {
    const { state, effects } = reduce(this.state, event, this.see());
    if (state !== this.state) {
      this.state = state;
      for (const listener of this.listeners) listener();
    }
    for (const effect of effects) this.runEffect(effect, this.dispatch);
  };
}
