import { z } from 'zod';

const StatsSchema = z.object({ mean: z.number(), min: z.number(), max: z.number(), std: z.number(), count: z.number() });

/**
 * What the worker stores on a completed job (`video_analysis_jobs.result`)
 * and the API returns: the summary a coach reads first, how it was made, and
 * where the full per-frame data lives. Keys, not URLs: URLs are signed per read.
 */
export const AnalysisResultSchema = z.object({
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
export type AnalysisResult = z.infer<typeof AnalysisResultSchema>;

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
