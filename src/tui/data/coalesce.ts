// Runs a task at most once per interval and never twice at a time: a burst of
// NOTIFY events becomes one refresh, and a slow refresh is not stacked on itself.

export type Coalescer = {
  /** Asks for a run; several asks before it starts become one. */
  request(): void;
  /** Stops: no run starts after this. */
  stop(): void;
  /** Resolves when no run is in flight (for tests and shutdown). */
  idle(): Promise<void>;
};

export function coalesce(task: () => Promise<void>, intervalMs: number): Coalescer {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let wanted = false;
  let lastStart = Number.NEGATIVE_INFINITY;
  let stopped = false;

  const schedule = () => {
    if (stopped || timer || running || !wanted) return;
    const wait = Math.max(0, lastStart + intervalMs - Date.now());
    timer = setTimeout(start, wait);
    timer.unref?.();
  };

  const start = () => {
    timer = null;
    if (stopped || !wanted) return;
    wanted = false;
    lastStart = Date.now();
    running = task()
      .catch(() => {})
      .finally(() => {
        running = null;
        schedule();
      });
  };

  return {
    request() {
      wanted = true;
      schedule();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
    async idle() {
      while (running || (timer && !stopped)) {
        await (running ?? new Promise((r) => setTimeout(r, 10)));
      }
    },
  };
}
