import type { ObjectStorage } from '@coach/aws';
import type { VideoAnalysisJob } from '@coach/db';

/**
 * For a job closing now without a video: the last moment a URL signed for it
 * could start writing to its storage. S3 cannot revoke a presigned URL, so the
 * sweeper removes whatever reaches the key until then (plus its grace for a
 * write begun just before). Every single-PUT URL, the first and any re-signed
 * for a repeated initiate, expires by the job's deadline. Part URLs reach only
 * the multipart upload id, which refuses parts once aborted or completed, so
 * nothing can start after the upload closes.
 */
export function keyWritableUntil(job: Pick<VideoAnalysisJob, 'uploadExpiresAt' | 'multipartUploadId'>, closedAt: Date): Date {
  return job.multipartUploadId ? closedAt : job.uploadExpiresAt;
}

/** Removes what an unfinished upload left in storage. */
export async function discardUpload(
  storage: ObjectStorage,
  job: Pick<VideoAnalysisJob, 's3Key' | 'multipartUploadId'>,
): Promise<void> {
  if (job.multipartUploadId) await storage.abortMultipartUpload({ key: job.s3Key, uploadId: job.multipartUploadId });
  await storage.delete(job.s3Key);
}
