import type { FrameMetrics, Side } from './metrics.ts';

/**
 * The per-frame metrics that are plain numbers, and so can be averaged. All are angles or ratios,
 * so they do not depend on the video's resolution; `torsoLength` (pixels) stays per frame only.
 */
export const NUMERIC_METRICS = [
  'leftElbowAngle',
  'rightElbowAngle',
  'leftKneeAngle',
  'rightKneeAngle',
  'frontLegAngle',
  'backLegAngle',
  'stanceWidth',
  'stanceWidthToTorso',
  'shoulderTilt',
  'hipTilt',
] as const satisfies readonly (keyof FrameMetrics)[];

export type NumericMetricName = (typeof NUMERIC_METRICS)[number];

export interface MetricStats {
  mean: number;
  min: number;
  max: number;
  /** Population standard deviation. */
  std: number;
  /** Reliable frames in which this metric had a value. */
  count: number;
}

export interface MetricsSummary {
  frameCount: number;
  /** Frames whose shoulders, hips, knees and ankles were all confident (`FrameMetrics.reliable`). */
  reliableFrameCount: number;
  /** Enough reliable frames to trust the summary; see `SummaryOptions`. */
  reliable: boolean;
  /** Statistics over reliable frames; null when no reliable frame had the metric. */
  metrics: Record<NumericMetricName, MetricStats | null>;
  /**
   * Spread of the nose, √(var x + var y), divided by the mean torso length, over reliable
   * frames with both: 0 = perfectly still head, 0.1 = it wanders by a tenth of a torso.
   * Null with fewer than 2 such frames.
   */
  headStability: number | null;
  /** The side that was the front leg in most reliable frames where it could be told. */
  frontSide: Side | null;
}

export interface SummaryOptions {
  /** Fewest reliable frames for `reliable` (default 5). */
  minReliableFrames?: number;
  /** Smallest share of reliable frames for `reliable` (default 0.5). */
  minReliableFraction?: number;
}

export const DEFAULT_MIN_RELIABLE_FRAMES = 5;
export const DEFAULT_MIN_RELIABLE_FRACTION = 0.5;

/** Summarises a clip's per-frame metrics. Pure. */
export function summarizeMetrics(frames: readonly FrameMetrics[], options: SummaryOptions = {}): MetricsSummary {
  const minFrames = options.minReliableFrames ?? DEFAULT_MIN_RELIABLE_FRAMES;
  const minFraction = options.minReliableFraction ?? DEFAULT_MIN_RELIABLE_FRACTION;
  const reliableFrames = frames.filter((frame) => frame.reliable);

  const metrics = Object.fromEntries(
    NUMERIC_METRICS.map((name) => [name, stats(reliableFrames.flatMap((frame) => frame[name].value ?? []))]),
  ) as Record<NumericMetricName, MetricStats | null>;

  let headStability: number | null = null;
  const heads = reliableFrames.flatMap((frame) =>
    frame.head.value && frame.torsoLength.value !== null ? [{ ...frame.head.value, torso: frame.torsoLength.value }] : [],
  );
  if (heads.length >= 2) {
    const xs = stats(heads.map((h) => h.x));
    const ys = stats(heads.map((h) => h.y));
    const torso = stats(heads.map((h) => h.torso));
    if (xs && ys && torso && torso.mean > 0) headStability = Math.hypot(xs.std, ys.std) / torso.mean;
  }

  let left = 0;
  let right = 0;
  for (const frame of reliableFrames) {
    if (frame.frontSide.value === 'left') left++;
    else if (frame.frontSide.value === 'right') right++;
  }

  return {
    frameCount: frames.length,
    reliableFrameCount: reliableFrames.length,
    reliable: frames.length > 0 && reliableFrames.length >= minFrames && reliableFrames.length / frames.length >= minFraction,
    metrics,
    headStability,
    frontSide: left === right ? null : left > right ? 'left' : 'right',
  };
}

function stats(values: readonly number[]): MetricStats | null {
  if (values.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const value of values) {
    min = Math.min(min, value);
    max = Math.max(max, value);
    sum += value;
  }
  const mean = sum / values.length;
  const variance = values.reduce((acc, value) => acc + (value - mean) ** 2, 0) / values.length;
  return { mean, min, max, std: Math.sqrt(variance), count: values.length };
}
