import { z } from 'zod';

import { UNRELIABLE_REASONS, type UnreliableReasonCode } from '../metrics/metric-catalog.ts';

const StatsSchema = z.object({ mean: z.number(), min: z.number(), max: z.number(), std: z.number(), count: z.number() });

/**
 * What the worker stores on a completed job (`video_analysis_jobs.result`)
 * and the API returns: the summary a coach reads first, how it was made, and
 * where the full per-frame data lives. Keys, not URLs: URLs are signed per read.
 */
const AnalysisResultV1Schema = z.object({
  schemaVersion: z.literal(1),
  model: z.object({ name: z.string(), version: z.string() }),
  video: z.object({
    durationSeconds: z.number(),
    width: z.number(),
    height: z.number(),
    rotation: z.number(),
    codec: z.string(),
  }),
  sampleFps: z.number(),
  frameCount: z.number(),
  reliableFrameCount: z.number(),
  /** False when too few frames had a confident pose: treat the numbers with care. */
  reliable: z.boolean(),
  /** Per metric over reliable frames (degrees, or ratios for stance width); null when never measured. */
  metrics: z.record(z.string(), StatsSchema.nullable()),
  /** Spread of the head over the clip relative to torso length (0 = perfectly still); null when unknown. */
  headStability: z.number().nullable(),
  /** The batter's front leg in most frames, when it could be told. */
  frontSide: z.enum(['left', 'right']).nullable(),
  timingsMs: z.record(z.string(), z.number()),
  artifacts: z.object({
    metricsKey: z.string(),
    /** Sampled frames at `frameKey(framesPrefix, index)` (`keys.ts`), when frames were requested. */
    framesPrefix: z.string().nullable(),
  }),
});

const MomentSchema = z
  .object({ index: z.number(), timestampSeconds: z.number(), values: z.record(z.string(), z.number().nullable()) })
  .nullable();

/**
 * Version 2: metrics of one followed person (the subject), smoothed, with implausible values
 * dropped and counted, the batting moments, and why the result is not reliable when it is not.
 */
const AnalysisResultV2Schema = AnalysisResultV1Schema.extend({
  schemaVersion: z.literal(2),
  /** Codes of `UNRELIABLE_REASONS`; empty when `reliable`. */
  unreliableReasons: z.array(z.enum(Object.keys(UNRELIABLE_REASONS) as [UnreliableReasonCode, ...UnreliableReasonCode[]])),
  subject: z.object({
    /** Sampled frames showing the subject (the only ones measured). */
    frames: z.number(),
    /** Frames showing someone else, and frames with nobody confidently in view. */
    otherFrames: z.number(),
    lostFrames: z.number(),
    /** Share of sampled frames showing the subject, 0..1. */
    coverage: z.number(),
    /** Times the pose moved from one person to another. */
    switches: z.number(),
  }),
  /** Per metric, values outside `METRIC_CATALOG` bounds that were dropped. */
  droppedValues: z.record(z.string(), z.number()),
  /** Keypoints left out of a frame as outliers (a sudden jump away from their smoothed track). */
  outlierKeypoints: z.number(),
  moments: z.object({ stance: MomentSchema, frontFootDown: MomentSchema, maxFrontKneeBend: MomentSchema }),
});

/** Results stored by every worker version; `schemaVersion` tells them apart. */
export const AnalysisResultSchema = z.discriminatedUnion('schemaVersion', [AnalysisResultV1Schema, AnalysisResultV2Schema]);
export type AnalysisResult = z.infer<typeof AnalysisResultSchema>;
/** What this worker writes. */
export type AnalysisResultV2 = z.infer<typeof AnalysisResultV2Schema>;

/**
 * A job's stored result as read back. Results are validated when written
 * (`completeLeasedJob`), so one failing the schema here was written some
 * other way (by hand, or under an older schema): it is read as null for the
 * caller, and reported through `onInvalid`, never dropped silently.
 */
export function parseStoredResult(stored: unknown, onInvalid: (issues: string[]) => void): AnalysisResult | null {
  if (stored === null || stored === undefined) return null;
  const parsed = AnalysisResultSchema.safeParse(stored);
  if (parsed.success) return parsed.data;
  onInvalid(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  return null;
}
