// When this process asks for a delivery of a run's message. Every run change
// and log line is announced (NOTIFY), often several within a second (a run
// goes pending → planning → awaiting approval in a few hundred ms), and a
// delivery costs a job, a lease, a RunView load and a Slack call. So the
// announcements are weighed here, in memory, before any of that:
//   - a version the message already shows (delivered by this process) asks nothing;
//   - while a delivery of the run runs here, nothing: it is looked at again when it ends;
//   - within the update gap after this process posted or updated the message,
//     one timer at the end of the gap (the delivery then renders the newest state once);
//   - a log line of a run that shows no log lines (not applying, …) asks nothing;
//   - while a job this process sent for the run is queued and not started here,
//     nothing (the job renders what is true when it starts); in case another
//     process started it before the change, it is sent again a little later.
// What this process cannot know (another process delivered, a missed
// notification) is left to the delivery itself, which checks the row under
// its lease, and to the sweep. Knowing too little only costs a delivery that
// finds nothing to do; it never skips one that is needed.

import type { RunStatus } from '../../core/lifecycle/statuses.ts';
import { LOG_TAIL_STATUSES } from './deliver.ts';

export type ScheduleTuning = {
  readonly minUpdateGapMs: number;
  readonly logRefreshMs: number;
};

type Known = {
  /** The newest version announced. */
  wanted: number;
  status: RunStatus | null;
  /** The version the message shows, by this process's last delivery. */
  delivered: number;
  /** When this process last posted or updated the message (ms), 0 if never. */
  updatedAt: number;
  /** Nothing before this time (a failed Slack call is retried then). */
  retryAt: number;
  lastLogAsk: number;
  /** Poked, or lines logged, while a delivery ran here (it may have read too early). */
  poked: boolean;
  logged: boolean;
  /** The run has no Slack message (run from the CLI): its changes ask nothing. */
  none: boolean;
  /** When this process sent a job for the run that has not started here (0: none). */
  queuedAt: number;
  /** Sends the job again when an ask was held back by a queued job that may have started elsewhere. */
  resend: NodeJS.Timeout | null;
};

/** How long a queued job stands for asks held back meanwhile. */
const QUEUED_MS = 1000;

/** Runs remembered; the oldest are forgotten past this (that only costs a delivery that finds nothing to do). */
const MAX_KNOWN = 5000;

export type Shown = { readonly version: number; readonly updatedAt: number | null };

export type Schedule = {
  /** The run changed (its NOTIFY). */
  changed(runId: string, version: number, status: RunStatus): void;
  /** The run may have changed (version unknown): deliver soon, within the update gap. */
  poke(runId: string): void;
  /** The run logged lines (its log NOTIFY). */
  logged(runId: string): void;
  /**
   * A delivery of the run starts here; `done` ends it with what the message
   * shows, or null when it delivered nothing (it scheduled what comes next, or
   * there is nothing to deliver).
   */
  begin(runId: string): void;
  done(runId: string, shown: Shown | null): void;
  /** The run has no message to deliver. */
  none(runId: string): void;
  /** A job for the run is being sent (a new run's first post). */
  queued(runId: string): void;
  /** Whether a delivery of the run is running in this process. */
  busy(runId: string): boolean;
  /**
   * Whether this process has a delivery of the run in hand: running, a timer
   * set, or a job sent that has not started yet. The sweep leaves those alone.
   */
  inHand(runId: string): boolean;
  /** Deliver at `at` (a retry, the end of an update gap); the earliest asked time wins. */
  wakeAt(runId: string, at: number, retry?: boolean): void;
  /** The message is to be shown again from scratch: soon, within the update gap. */
  stale(runId: string): void;
  /** The message is finished with (settled). */
  forget(runId: string): void;
  stop(): void;
};

export function createSchedule(
  tuning: ScheduleTuning,
  enqueue: (runId: string) => void,
  pausedUntil: () => number,
): Schedule {
  const known = new Map<string, Known>();
  const delivering = new Set<string>();
  const timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  let stopped = false;

  const entry = (runId: string): Known => {
    let k = known.get(runId);
    if (k === undefined) {
      k = {
        wanted: 0,
        status: null,
        delivered: 0,
        updatedAt: 0,
        retryAt: 0,
        lastLogAsk: 0,
        poked: false,
        logged: false,
        none: false,
        queuedAt: 0,
        resend: null,
      };
      if (known.size >= MAX_KNOWN) {
        const [oldest, old] = known.entries().next().value ?? [];
        if (old?.resend) clearTimeout(old.resend);
        if (oldest !== undefined) known.delete(oldest);
      }
      known.set(runId, k);
    }
    return k;
  };

  const send = (runId: string) => {
    entry(runId).queuedAt = Date.now();
    enqueue(runId);
  };

  const wakeAt = (runId: string, at: number, retry = false) => {
    if (stopped) return;
    if (retry) entry(runId).retryAt = at;
    const existing = timers.get(runId);
    if (existing !== undefined) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    // A little after the moment, so that the gap has passed when the delivery looks.
    const timer = setTimeout(
      () => {
        timers.delete(runId);
        send(runId);
      },
      Math.max(0, at - Date.now()) + 20,
    );
    timer.unref();
    timers.set(runId, { at, timer });
  };

  /** A delivery now, or at the end of the gap `gapMs` after this process's last update. */
  const ask = (runId: string, k: Known, gapMs: number) => {
    const now = Date.now();
    const at = Math.max(k.updatedAt > 0 ? k.updatedAt + gapMs : 0, k.retryAt, pausedUntil());
    if (at > now) return wakeAt(runId, at);
    if (k.queuedAt > 0 && now - k.queuedAt < QUEUED_MS) {
      k.resend ??= setTimeout(
        () => {
          k.resend = null;
          if (k.queuedAt > 0 && !stopped) send(runId);
        },
        k.queuedAt + QUEUED_MS - now,
      ).unref();
      return;
    }
    send(runId);
  };

  return {
    changed(runId, version, status) {
      if (stopped) return;
      const k = entry(runId);
      k.wanted = Math.max(k.wanted, version);
      k.status = status;
      if (k.none || delivering.has(runId) || (k.delivered > 0 && k.delivered >= k.wanted)) return;
      ask(runId, k, tuning.minUpdateGapMs);
    },

    poke(runId) {
      if (stopped) return;
      const k = entry(runId);
      k.none = false;
      if (delivering.has(runId)) k.poked = true;
      else ask(runId, k, tuning.minUpdateGapMs);
    },

    logged(runId) {
      if (stopped) return;
      const k = entry(runId);
      if (k.none || (k.status !== null && !LOG_TAIL_STATUSES.has(k.status))) return;
      if (delivering.has(runId)) {
        k.logged = true;
        return;
      }
      // At most one ask per half refresh period, and the last lines are never left behind.
      const now = Date.now();
      const next = k.lastLogAsk + tuning.logRefreshMs / 2;
      if (next > now) {
        if (!timers.has(runId)) wakeAt(runId, next);
        return;
      }
      k.lastLogAsk = now;
      ask(runId, k, tuning.logRefreshMs);
    },

    begin(runId) {
      delivering.add(runId);
      const k = known.get(runId);
      if (k !== undefined) {
        k.poked = false;
        k.logged = false;
        k.queuedAt = 0;
        if (k.resend !== null) clearTimeout(k.resend);
        k.resend = null;
      }
    },

    done(runId, shown) {
      delivering.delete(runId);
      if (stopped) return;
      if (shown === null) {
        // Deferred, retried, busy elsewhere or nothing to do: a timer or the sweep follows.
        const k = known.get(runId);
        if (k !== undefined) {
          k.poked = false;
          k.logged = false;
        }
        return;
      }
      const k = entry(runId);
      k.none = false;
      k.delivered = Math.max(k.delivered, shown.version);
      if (shown.updatedAt !== null) k.updatedAt = Math.max(k.updatedAt, shown.updatedAt);
      // What was announced while the delivery ran may be newer than what it rendered.
      const poked = k.poked || k.wanted > k.delivered;
      const logged = k.logged;
      k.poked = false;
      k.logged = false;
      if (poked) ask(runId, k, tuning.minUpdateGapMs);
      else if (logged) ask(runId, k, tuning.logRefreshMs);
    },

    none(runId) {
      entry(runId).none = true;
    },

    queued(runId) {
      entry(runId).queuedAt = Date.now();
    },

    busy: (runId) => delivering.has(runId),

    inHand(runId) {
      if (delivering.has(runId) || timers.has(runId)) return true;
      const k = known.get(runId);
      return k !== undefined && (k.resend !== null || Date.now() - k.queuedAt < QUEUED_MS);
    },
    wakeAt,

    stale(runId) {
      if (stopped) return;
      const k = entry(runId);
      k.none = false;
      k.delivered = 0;
      if (delivering.has(runId)) k.poked = true;
      else ask(runId, k, tuning.minUpdateGapMs);
    },

    forget(runId) {
      const k = known.get(runId);
      if (k?.resend) clearTimeout(k.resend);
      known.delete(runId);
    },

    stop() {
      stopped = true;
      for (const { timer } of timers.values()) clearTimeout(timer);
      timers.clear();
      for (const k of known.values()) if (k.resend) clearTimeout(k.resend);
      known.clear();
    },
  };
}
