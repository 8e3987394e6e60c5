import { sql, type Database, type Kysely } from '@coach/db';
import type { AnalysisResult } from '@coach/jobs';

import { sampleResult } from './analysis-result.ts';

/**
 * Marks a job completed with a stored analysis summary, as the worker would,
 * so jobs.get and jobs.frames sign download links for its artifacts.
 */
export async function markJobCompleted(
  db: Kysely<Database>,
  p: { jobId: string; s3Key: string; frameCount: number },
): Promise<AnalysisResult> {
  const result = sampleResult({ s3Key: p.s3Key, frameCount: p.frameCount });
  await sql`
    update video_analysis_jobs
    set status = 'completed', progress_percent = 100, result = ${JSON.stringify(result)}::jsonb, finished_at = now()
    where id = ${p.jobId}
  `.execute(db);
  return result;
}
