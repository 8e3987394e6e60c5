import { z } from 'zod';

/**
 * The SQS message that asks the worker to analyse one uploaded video. The
 * seed's snake_case contract plus where the video is and a schema version;
 * producer and consumer both validate against this schema.
 */
export const AnalysisJobMessageSchema = z.object({
  schema_version: z.literal(1),
  job_id: z.uuid(),
  session_id: z.uuid(),
  sample_fps: z.int().min(1).max(30),
  include_frames: z.boolean(),
  s3_bucket: z.string().min(1),
  s3_key: z.string().min(1),
});
export type AnalysisJobMessage = z.infer<typeof AnalysisJobMessageSchema>;

export function buildAnalysisJobMessage(job: {
  id: string;
  sessionId: string;
  sampleFps: number;
  includeFrames: boolean;
  s3Bucket: string;
  s3Key: string;
}): AnalysisJobMessage {
  return AnalysisJobMessageSchema.parse({
    schema_version: 1,
    job_id: job.id,
    session_id: job.sessionId,
    sample_fps: job.sampleFps,
    include_frames: job.includeFrames,
    s3_bucket: job.s3Bucket,
    s3_key: job.s3Key,
  });
}
