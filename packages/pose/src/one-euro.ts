// The One Euro filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass filter whose cut-off rises
// with speed, so a still joint stops jittering while a fast one (a stride, a swing) lags little.

export interface OneEuroOptions {
  /** Cut-off at rest, Hz: lower removes more jitter from a still pose. */
  minCutoff: number;
  /** How fast the cut-off rises with speed (per unit of the signal per second). */
  beta: number;
  /** Cut-off of the speed estimate, Hz. */
  derivativeCutoff: number;
}

export interface OneEuroFilter {
  /** The filtered value of `value` sampled at `timeSeconds` (strictly after the previous sample). */
  next(value: number, timeSeconds: number): number;
  /** Forgets the history: the next value passes through unchanged. */
  reset(): void;
  /** The last filtered value, if any. */
  readonly value: number | undefined;
}

const smoothing = (cutoff: number, dt: number) => 1 / (1 + 1 / (2 * Math.PI * cutoff * dt));

export function createOneEuroFilter({ minCutoff, beta, derivativeCutoff }: OneEuroOptions): OneEuroFilter {
  let last: { value: number; speed: number; time: number } | undefined;
  return {
    next(value, timeSeconds) {
      if (!last || !(timeSeconds > last.time)) {
        last = { value, speed: 0, time: timeSeconds };
        return value;
      }
      const dt = timeSeconds - last.time;
      const rawSpeed = (value - last.value) / dt;
      const speed = last.speed + smoothing(derivativeCutoff, dt) * (rawSpeed - last.speed);
      const cutoff = minCutoff + beta * Math.abs(speed);
      const filtered = last.value + smoothing(cutoff, dt) * (value - last.value);
      last = { value: filtered, speed, time: timeSeconds };
      return filtered;
    },
    reset() {
      last = undefined;
    },
    get value() {
      return last?.value;
    },
  };
}
