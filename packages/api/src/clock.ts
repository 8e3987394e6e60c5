/** Runs `fn` once the clock reaches `at`; returns a cancel. Injected so tests move time by hand. */
export type ScheduleAt = (at: Date, fn: () => void) => () => void;

/** setTimeout's longest delay; a later moment is reached in several waits. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wall clock: `now` is what `at` is measured against. */
export function wallClockScheduler(now: () => Date): ScheduleAt {
  return (at, fn) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const wait = at.getTime() - now().getTime();
      if (wait <= 0) return fn();
      timer = setTimeout(arm, Math.min(wait, MAX_TIMER_MS));
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  };
}
