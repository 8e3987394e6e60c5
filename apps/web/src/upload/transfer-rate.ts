/**
 * Upload speed over a sliding window (default 5 s), so the figure follows
 * the link as it is now (a stall shows as a falling speed) rather than the
 * average since the start. Feed it the bytes sent so far, on every progress
 * event and on a timer.
 */
export class TransferRate {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(
    private readonly windowMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  record(bytes: number): void {
    const at = this.now();
    this.samples.push({ at, bytes });
    // Keep one sample from before the window: it anchors the window's start.
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; null until it spans half a second. */
  bytesPerSecond(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < 500) return null;
    return Math.max(0, last.bytes - first.bytes) / ((last.at - first.at) / 1000);
  }

  /** Seconds left for `remainingBytes` at the current speed; null while the speed is unknown or zero. */
  etaSeconds(remainingBytes: number): number | null {
    if (remainingBytes <= 0) return 0;
    const speed = this.bytesPerSecond();
    return speed ? remainingBytes / speed : null;
  }
}
