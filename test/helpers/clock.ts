import type { ScheduleAt } from '@coach/api';

/**
 * The wall clock plus an offset that only the test moves. Its timers fire
 * when `advance` reaches them, never by themselves, so a test decides when
 * time-bound things (a token's expiry) happen.
 */
export function manualClock() {
  let offsetMs = 0;
  const timers = new Set<{ at: number; fn: () => void }>();
  const now = () => new Date(Date.now() + offsetMs);
  const scheduleAt: ScheduleAt = (at, fn) => {
    const timer = { at: at.getTime(), fn };
    timers.add(timer);
    return () => timers.delete(timer);
  };
  return {
    now,
    scheduleAt,
    advance(ms: number) {
      offsetMs += ms;
      const nowMs = now().getTime();
      for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > nowMs) break;
        timers.delete(timer);
        timer.fn();
      }
    },
    /** Timers not yet fired or cancelled. */
    get pending() {
      return timers.size;
    },
  };
}
