import { randomUUID } from 'node:crypto';

import { sql, type Database, type InsertJobParams, type Kysely, type Owner, type VideoAnalysisJob } from '@coach/db';

/** A new single-PUT job for `insertJobForOwnedSession`, in `sessionId` as `owner`. */
export function newJobParams(
  sessionId: string,
  owner: Owner,
  options: { clientRequestId?: string | null } = {},
): InsertJobParams {
  const videoId = randomUUID();
  return {
    id: randomUUID(),
    sessionId,
    owner,
    createdBy: 'user-1',
    videoId,
    sampleFps: 10,
    includeFrames: false,
    subjectHint: null,
    s3Bucket: 'bucket',
    s3Key: `coach_plus/${owner.type}/${owner.id}/${sessionId}/${videoId}/original.mp4`,
    contentType: 'video/mp4',
    declaredSizeBytes: null,
    uploadExpiresAt: new Date(Date.now() + 3_600_000),
    multipart: null,
    clientRequestId: options.clientRequestId ?? null,
  };
}

/** A whole job row as a worker holds it mid-analysis (no database needed), with `overrides` applied. */
export function processingJobRow(
  overrides: Partial<VideoAnalysisJob> & Pick<VideoAnalysisJob, 's3Bucket' | 's3Key'>,
): VideoAnalysisJob {
  const now = new Date();
  return {
    id: randomUUID(),
    sessionId: randomUUID(),
    ownerType: 'coach',
    ownerId: 'coach-1',
    createdBy: 'coach-1',
    videoId: randomUUID(),
    status: 'processing',
    sampleFps: 10,
    includeFrames: false,
    subjectHintX: null,
    subjectHintY: null,
    contentType: 'video/mp4',
    declaredSizeBytes: null,
    sizeBytes: null,
    etag: null,
    uploadExpiresAt: now,
    sqsMessageId: null,
    errorCode: null,
    errorMessage: null,
    createdAt: now,
    updatedAt: now,
    queuedAt: now,
    startedAt: now,
    finishedAt: null,
    deletedAt: null,
    attempts: 1,
    leaseToken: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    leaseMessageId: null,
    progressPercent: 0,
    framesTotal: null,
    framesDone: 0,
    result: null,
    uploadMode: 'single',
    multipartUploadId: null,
    partSizeBytes: null,
    partCount: null,
    clientRequestId: null,
    keyWritableUntil: null,
    keyCheckedAt: null,
    usageReleasedAt: null,
    reservedBytes: null,
    originalRemovedAt: null,
    ...overrides,
  };
}

/**
 * Moves every time the job's deadlines and ages count from (`created_at`,
 * `upload_expires_at`, `queued_at`) `seconds` into the past: for that job,
 * that much time went by, on the database's own clock.
 */
export async function letTimePassForJob(db: Kysely<Database>, jobId: string, seconds: number): Promise<void> {
  await sql`update video_analysis_jobs
    set created_at = created_at - make_interval(secs => ${seconds}),
        upload_expires_at = upload_expires_at - make_interval(secs => ${seconds}),
        queued_at = queued_at - make_interval(secs => ${seconds})
    where id = ${jobId}`.execute(db);
}
