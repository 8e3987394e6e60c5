import type { FrameRecord } from '../results/metrics-file.ts';

/**
 * The analysed frames in time order, to find the pose shown at any moment of
 * the video: the sample nearest the playback time, within half a sample
 * interval (further from every sample, no pose is drawn rather than a stale one).
 */
export class PoseTimeline {
  private readonly records: readonly FrameRecord[];
  private readonly halfInterval: number;

  constructor(records: readonly FrameRecord[], sampleFps: number) {
    this.records = records.toSorted((a, b) => a.timestampSeconds - b.timestampSeconds);
    this.halfInterval = 0.5 / sampleFps;
  }

  get length(): number {
    return this.records.length;
  }

  at(position: number): FrameRecord | undefined {
    return this.records[position];
  }

  /** Position of the last sample at or before `seconds` (-1 before the first). */
  private floor(seconds: number): number {
    let low = 0;
    let high = this.records.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.records[mid]?.timestampSeconds ?? Infinity) <= seconds) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return found;
  }

  /** Position of the sample nearest `seconds`, or -1 when none is within half a sample interval. */
  nearest(seconds: number): number {
    const before = this.floor(seconds);
    const candidates = [before, before + 1].filter((i) => i >= 0 && i < this.records.length);
    let best = -1;
    let bestGap = Infinity;
    for (const i of candidates) {
      const gap = Math.abs((this.records[i]?.timestampSeconds ?? Infinity) - seconds);
      if (gap < bestGap) {
        best = i;
        bestGap = gap;
      }
    }
    return bestGap <= this.halfInterval + 1e-6 ? best : -1;
  }

  /** The sample after (`+1`) or before (`-1`) the one at `seconds`: frame stepping moves between analysed frames. */
  step(seconds: number, direction: 1 | -1): FrameRecord | undefined {
    const near = this.nearest(seconds);
    const from = near >= 0 ? near : direction === 1 ? this.floor(seconds) : this.floor(seconds) + 1;
    return this.records[Math.min(this.records.length - 1, Math.max(0, from + direction))];
  }
}

/**
 * The size the worker analysed a frame of a `width`×`height` (upright) video
 * at, whose pixels the keypoints are in: scaled to fit 640 px, even sides
 * (`fitWithin` in `@coach/media`, which the browser bundle cannot import).
 */
export function analysedFrameSize(width: number, height: number, maxDimension = 640): { width: number; height: number } {
  const scale = Math.min(1, maxDimension / Math.max(width, height));
  const even = (size: number, limit: number) =>
    Math.max(2, Math.min(2 * Math.round((size * scale) / 2), 2 * Math.floor(limit / 2)));
  return { width: even(width, Math.min(width, maxDimension)), height: even(height, Math.min(height, maxDimension)) };
}
