import type { AnalysisResult } from '@coach/api/messages';
import { sql, type Database, type Kysely } from '@coach/db';

/**
 * Marks a job completed with a stored analysis summary, as the worker would,
 * so jobs.get and jobs.frames sign download links for its artifacts.
 */
export async function markJobCompleted(
  db: Kysely<Database>,
  p: { jobId: string; s3Key: string; frameCount: number },
): Promise<AnalysisResult> {
  const prefix = p.s3Key.slice(0, p.s3Key.lastIndexOf('/') + 1);
  const result: AnalysisResult = {
    schemaVersion: 1,
    model: { name: 'movenet-lightning', version: '4' },
    video: { durationSeconds: 2, width: 640, height: 360, rotation: 0, codec: 'h264' },
    sampleFps: 10,
    frameCount: p.frameCount,
    reliableFrameCount: p.frameCount,
    reliable: true,
    metrics: { kneeAngle: { mean: 150, min: 140, max: 160, std: 5, count: p.frameCount } },
    headStability: 0.1,
    frontSide: 'left',
    timingsMs: { total: 1000 },
    artifacts: { metricsKey: `${prefix}analysis/metrics.json`, framesPrefix: p.frameCount > 0 ? `${prefix}frames/` : null },
  };
  await sql`
    update video_analysis_jobs
    set status = 'completed', progress_percent = 100, result = ${JSON.stringify(result)}::jsonb, finished_at = now()
    where id = ${p.jobId}
  `.execute(db);
  return result;
}
