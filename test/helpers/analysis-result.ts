import { framesPrefix, metricsKey, type AnalysisResult } from '@coach/jobs';

/**
 * A valid analysis summary, as the worker stores it on a completed job, for
 * tests whose analyzer stands in for the real one. `overrides` mark it.
 */
type AnalysisResultV1 = Extract<AnalysisResult, { schemaVersion: 1 }>;

export function sampleResult(overrides: Partial<AnalysisResultV1> & { s3Key?: string } = {}): AnalysisResultV1 {
  const { s3Key = 'coach_plus/coach/test/session/video/original.mp4', ...marks } = overrides;
  const frameCount = marks.frameCount ?? 1;
  return {
    schemaVersion: 1,
    model: { name: 'movenet-lightning', version: '4' },
    video: { durationSeconds: 2, width: 640, height: 360, rotation: 0, codec: 'h264' },
    sampleFps: 10,
    frameCount,
    reliableFrameCount: frameCount,
    reliable: true,
    metrics: { kneeAngle: { mean: 150, min: 140, max: 160, std: 5, count: frameCount } },
    headStability: 0.1,
    frontSide: 'left',
    timingsMs: { total: 1000 },
    artifacts: { metricsKey: metricsKey(s3Key), framesPrefix: frameCount > 0 ? framesPrefix(s3Key) : null },
    ...marks,
  };
}
