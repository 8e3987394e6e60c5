import type { VideoAnalysisJob } from '@coach/db';

import { AppError } from '../errors.ts';
import { jobNotFound } from '../jobs.ts';
import { pushUploadDeadline, singlePutUrlSeconds } from './deadline.ts';
import type { InitiatedUpload, UploadDeps } from './deps.ts';
import type { InitiateUploadParams } from './initiate.ts';

/**
 * The answer to a repeated initiate: the same job and key, its deadline pushed
 * out (a repeat is progress), with a freshly signed URL (single PUT) or the
 * same multipart upload and part plan.
 * Only for the same inputs and while the job still waits for its file.
 */
export async function answerRepeat(deps: UploadDeps, p: InitiateUploadParams, job: VideoAnalysisJob): Promise<InitiatedUpload> {
  if (!hasSameInputs(job, p)) {
    throw new AppError(
      'IDEMPOTENCY_KEY_REUSED',
      'This clientRequestId already started an upload with different inputs (session, size, content type, sampleFps, includeFrames or subjectHint). Send a new clientRequestId for each upload, and repeat one only to retry the very same call.',
    );
  }
  const useNewId = 'To upload again, call upload.initiate with a new clientRequestId.';
  switch (job.status) {
    case 'awaiting_upload':
      break;
    case 'expired':
      throw new AppError('UPLOAD_EXPIRED', `The upload started with this clientRequestId expired. ${useNewId}`);
    case 'aborted':
      throw new AppError('UPLOAD_ABORTED', `The upload started with this clientRequestId was cancelled. ${useNewId}`);
    case 'deleted':
      // Deleted since it was looked up (a deletion frees the clientRequestId): as gone as any deleted job.
      throw jobNotFound();
    case 'queued':
    case 'processing':
    case 'completed':
    case 'failed':
    case 'rejected':
      throw new AppError(
        'UPLOAD_CLOSED',
        `The upload started with this clientRequestId is already ${job.status} (job ${job.id}). ${useNewId}`,
      );
  }
  // A repeat is progress: the deadline moves out before anything is signed against it.
  const deadline = await pushUploadDeadline(deps, job.id);
  const now = deps.now();
  const expiresIn = deadline ? singlePutUrlSeconds(deps.config, deadline, now) : 0;
  if (!deadline || expiresIn < 1) {
    throw new AppError('UPLOAD_EXPIRED', `The upload started with this clientRequestId expired. ${useNewId}`);
  }
  let presignedUrl: string | null = null;
  let headers: Record<string, string> = {};
  let plan: { partSizeBytes: number; partCount: number } | null = null;
  if (job.uploadMode === 'multipart' && job.partSizeBytes !== null && job.partCount !== null) {
    plan = { partSizeBytes: job.partSizeBytes, partCount: job.partCount };
  } else {
    // The URL of the first answer was lost with it (or expired); sign again, valid only until the job's own deadline.
    const signed = await deps.storage.presignPut({
      key: job.s3Key,
      contentType: job.contentType,
      // Jobs from before sizes were required have none; their URL stays unbounded as it was first signed.
      contentLength: job.declaredSizeBytes ?? undefined,
      expiresInSeconds: expiresIn,
    });
    presignedUrl = signed.url;
    headers = signed.headers;
  }
  return {
    jobId: job.id,
    sessionId: job.sessionId,
    videoId: job.videoId,
    status: job.status,
    uploadMode: plan ? 'multipart' : 'single',
    presignedUrl,
    method: 'PUT',
    headers,
    multipart: plan,
    expiresIn: plan ? Math.floor((deadline.getTime() - now.getTime()) / 1000) : expiresIn,
    expiresAt: (plan ? deadline : new Date(now.getTime() + expiresIn * 1000)).toISOString(),
    uploadExpiresAt: deadline.toISOString(),
    s3Bucket: job.s3Bucket,
    s3Key: job.s3Key,
    maxSizeBytes: deps.config.maxUploadBytes,
  };
}

/** Same owner and same request: a user whose organisation changed does not reach the old one's job. */
function hasSameInputs(job: VideoAnalysisJob, p: InitiateUploadParams): boolean {
  return (
    job.ownerType === p.owner.type &&
    job.ownerId === p.owner.id &&
    job.sessionId === p.sessionId &&
    job.declaredSizeBytes === p.sizeBytes &&
    job.contentType === p.contentType &&
    job.sampleFps === p.sampleFps &&
    job.includeFrames === p.includeFrames &&
    isSameHint(job, p.subjectHint)
  );
}

function isSameHint(job: VideoAnalysisJob, hint: InitiateUploadParams['subjectHint']): boolean {
  if (!hint) return job.subjectHintX === null && job.subjectHintY === null;
  return job.subjectHintX === hint.x && job.subjectHintY === hint.y;
}
