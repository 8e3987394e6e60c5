import { randomUUID } from 'node:crypto';

import type { StoredObject } from '@coach/aws';
import {
  countUploadUsage,
  findJobByClientRequestId,
  findOwnedJob,
  insertJobForOwnedSession,
  lockUploadQuota,
  type JobStatus,
  type Owner,
  type VideoAnalysisJob,
} from '@coach/db';

import {
  analysisDedupeKey,
  analysisOutboxMessage,
  discardUpload,
  failureColumns,
  jobFailure,
  keyWritableUntil,
  moveJob,
  videoKey,
  type JobFailure,
  type UploadRejectionCode,
  type VideoContentType,
} from '@coach/jobs';

import type { Context } from '../context.ts';
import { AppError } from './errors.ts';
import { jobNotFound } from './jobs.ts';
import { sessionNotFound } from './sessions.ts';
import { assembleMultipart, planParts } from './multipart.ts';

type UploadDeps = Pick<Context, 'db' | 'storage' | 'outbox' | 'config' | 'logger' | 'now'>;

export interface InitiateUploadParams {
  owner: Owner;
  userId: string;
  sessionId: string;
  sampleFps: number;
  includeFrames: boolean;
  contentType: VideoContentType;
  sizeBytes: number | undefined;
  /** The caller's idempotency key (per user); a repeat with it answers the same job. */
  clientRequestId?: string | undefined;
}

export interface InitiatedUpload {
  jobId: string;
  sessionId: string;
  videoId: string;
  status: JobStatus;
  /** `multipart` above the size threshold: sign parts with upload.signParts instead of one PUT. */
  uploadMode: 'single' | 'multipart';
  /** The single-PUT URL; null for a multipart upload. */
  presignedUrl: string | null;
  method: 'PUT';
  /** Send exactly these headers with the PUT (or every part PUT), or storage refuses the upload. */
  headers: Record<string, string>;
  /** The part plan of a multipart upload: every part has `partSizeBytes` except the last. */
  multipart: { partSizeBytes: number; partCount: number } | null;
  expiresIn: number;
  expiresAt: string;
  s3Bucket: string;
  s3Key: string;
  maxSizeBytes: number;
}

export function fileTooLarge(maxBytes: number): AppError {
  return new AppError(
    'FILE_TOO_LARGE',
    `The video is larger than the ${formatBytes(maxBytes)} limit. Trim or compress it and try again.`,
  );
}

/**
 * Signs the upload URL first and only then records the job, so a signing
 * failure leaves nothing behind. The insert checks session ownership itself.
 *
 * With a `clientRequestId`, a repeat of the call answers the job the first one
 * created (see `answerRepeat`): looked up before any limit is counted or any
 * storage is touched, and again under the quota lock and after the insert, so
 * concurrent repeats still make exactly one job.
 */
export async function initiateUpload(deps: UploadDeps, p: InitiateUploadParams): Promise<InitiatedUpload> {
  const { storage, config } = deps;
  if (p.sizeBytes !== undefined && p.sizeBytes > config.maxUploadBytes) {
    throw fileTooLarge(config.maxUploadBytes);
  }
  const clientRequestId = p.clientRequestId ?? null;
  const findEarlier = (db: UploadDeps['db']) =>
    clientRequestId === null ? undefined : findJobByClientRequestId(db, { userId: p.userId, clientRequestId });
  const earlier = await findEarlier(deps.db);
  if (earlier) return answerRepeat(deps, p, earlier);

  const jobId = randomUUID();
  const videoId = randomUUID();
  const key = videoKey({ owner: p.owner, sessionId: p.sessionId, videoId, contentType: p.contentType });
  const expiresIn = config.uploadUrlExpiresSeconds;
  const expiresAt = new Date(deps.now().getTime() + expiresIn * 1000);
  const multipart = p.sizeBytes !== undefined && p.sizeBytes > config.multipartThresholdBytes;

  // Storage first, the row second: a storage failure leaves nothing behind.
  let presignedUrl: string | null = null;
  let headers: Record<string, string>;
  let plan: { partSizeBytes: number; partCount: number } | null = null;
  let uploadId: string | null = null;
  if (multipart && p.sizeBytes !== undefined) {
    plan = planParts(p.sizeBytes, config.multipartPartSizeBytes);
    // A caller over the limits costs no storage call: checked here without the lock
    // (and again under it, before the insert, where it is exact).
    if (hasUploadQuota(config)) await enforceUploadQuota(deps.db, config, { userId: p.userId, owner: p.owner });
    uploadId = await storage.createMultipartUpload({ key, contentType: p.contentType });
    headers = {};
  } else {
    const signed = await storage.presignPut({
      key,
      contentType: p.contentType,
      contentLength: p.sizeBytes,
      expiresInSeconds: expiresIn,
    });
    presignedUrl = signed.url;
    headers = signed.headers;
  }
  const abandonStorage = async () => {
    if (!uploadId) return;
    await storage.abortMultipartUpload({ key, uploadId }).catch((error: unknown) => {
      deps.logger.warn({ err: error, key }, 'could not abort a multipart upload for a refused initiate');
    });
  };
  const row = {
    id: jobId,
    sessionId: p.sessionId,
    owner: p.owner,
    createdBy: p.userId,
    videoId,
    sampleFps: p.sampleFps,
    includeFrames: p.includeFrames,
    s3Bucket: storage.bucket,
    s3Key: key,
    contentType: p.contentType,
    declaredSizeBytes: p.sizeBytes ?? null,
    uploadExpiresAt: expiresAt,
    multipart: plan && uploadId ? { uploadId, ...plan } : null,
    clientRequestId,
  };
  let outcome: { inserted: Pick<VideoAnalysisJob, 'status'> | undefined } | { earlier: VideoAnalysisJob };
  try {
    outcome = hasUploadQuota(config)
      ? await deps.db.transaction().execute(async (trx) => {
          await lockUploadQuota(trx, { userId: p.userId, owner: p.owner });
          // A concurrent repeat that took the lock first has committed its job by now: answer that, uncounted.
          const raced = await findEarlier(trx);
          if (raced) return { earlier: raced };
          await enforceUploadQuota(trx, config, { userId: p.userId, owner: p.owner });
          return { inserted: await insertJobForOwnedSession(trx, row) };
        })
      : // One statement, so no transaction: one database round trip instead of three.
        { inserted: await insertJobForOwnedSession(deps.db, row) };
    if ('inserted' in outcome && !outcome.inserted) {
      // Nothing inserted: no such session, or a concurrent repeat won the unique index.
      const raced = await findEarlier(deps.db);
      if (raced) outcome = { earlier: raced };
    }
  } catch (error) {
    await abandonStorage();
    throw error;
  }
  if ('earlier' in outcome) {
    await abandonStorage();
    return answerRepeat(deps, p, outcome.earlier);
  }
  const job = outcome.inserted;
  if (!job) {
    await abandonStorage();
    throw sessionNotFound();
  }
  return {
    jobId,
    sessionId: p.sessionId,
    videoId,
    status: job.status,
    uploadMode: multipart ? 'multipart' : 'single',
    presignedUrl,
    method: 'PUT',
    headers,
    multipart: plan,
    expiresIn,
    expiresAt: expiresAt.toISOString(),
    s3Bucket: storage.bucket,
    s3Key: key,
    maxSizeBytes: config.maxUploadBytes,
  };
}

/**
 * The answer to a repeated initiate: the same job, key and deadline, with a
 * freshly signed URL (single PUT) or the same multipart upload and part plan.
 * Only for the same inputs and while the job still waits for its file.
 */
async function answerRepeat(deps: UploadDeps, p: InitiateUploadParams, job: VideoAnalysisJob): Promise<InitiatedUpload> {
  if (!hasSameInputs(job, p)) {
    throw new AppError(
      'IDEMPOTENCY_KEY_REUSED',
      'This clientRequestId already started an upload with different inputs (session, size, content type, sampleFps or includeFrames). Send a new clientRequestId for each upload, and repeat one only to retry the very same call.',
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
  const expiresIn = Math.floor((job.uploadExpiresAt.getTime() - deps.now().getTime()) / 1000);
  if (expiresIn < 1) {
    throw new AppError('UPLOAD_EXPIRED', `The upload started with this clientRequestId expired. ${useNewId}`);
  }
  let presignedUrl: string | null = null;
  let headers: Record<string, string> = {};
  let plan: { partSizeBytes: number; partCount: number } | null = null;
  if (job.uploadMode === 'multipart' && job.partSizeBytes !== null && job.partCount !== null) {
    plan = { partSizeBytes: job.partSizeBytes, partCount: job.partCount };
  } else {
    // The URL of the first answer was lost with it; sign again, valid only until the job's own deadline.
    const signed = await deps.storage.presignPut({
      key: job.s3Key,
      contentType: job.contentType,
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
    expiresIn,
    expiresAt: job.uploadExpiresAt.toISOString(),
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
    job.declaredSizeBytes === (p.sizeBytes ?? null) &&
    job.contentType === p.contentType &&
    job.sampleFps === p.sampleFps &&
    job.includeFrames === p.includeFrames
  );
}

function hasUploadQuota(config: UploadDeps['config']): boolean {
  return config.initiatesPerMinute > 0 || config.maxOpenUploads > 0;
}

/**
 * Per-user initiate rate and per-owner open uploads, counted in Postgres. The
 * caller holds `lockUploadQuota` for its transaction, so the limits hold across
 * API processes and concurrent calls; must run in the transaction that inserts the job.
 */
async function enforceUploadQuota(
  trx: UploadDeps['db'],
  config: UploadDeps['config'],
  p: { userId: string; owner: Owner },
): Promise<void> {
  const usage = await countUploadUsage(trx, { userId: p.userId, owner: p.owner, windowSeconds: 60 });
  if (config.initiatesPerMinute > 0 && usage.recent >= config.initiatesPerMinute) {
    const retryAfterSeconds = Math.max(1, Math.ceil(60 - (usage.oldestAgeSeconds ?? 0)));
    throw new AppError(
      'TOO_MANY_REQUESTS',
      `You started ${usage.recent} uploads in the last minute (the limit is ${config.initiatesPerMinute}). Try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  }
  if (config.maxOpenUploads > 0 && usage.open >= config.maxOpenUploads) {
    throw new AppError(
      'TOO_MANY_OPEN_UPLOADS',
      `There are already ${usage.open} unfinished uploads (the limit is ${config.maxOpenUploads}). Finish or cancel one (upload.abort), then try again.`,
      { retryAfterSeconds: 60 },
    );
  }
}

export interface CompletedUpload {
  jobId: string;
  status: JobStatus;
  sqsMessageId: string | null;
  message: string;
}

/** Why a stored object cannot be analysed, or undefined when it is acceptable. */
export function checkStoredObject(
  job: Pick<VideoAnalysisJob, 'declaredSizeBytes' | 'contentType'>,
  object: StoredObject,
  maxUploadBytes: number,
): JobFailure<UploadRejectionCode> | undefined {
  if (object.sizeBytes === 0) return jobFailure.emptyUpload();
  if (object.sizeBytes > maxUploadBytes) return jobFailure.fileTooLarge(formatBytes(maxUploadBytes));
  if (job.declaredSizeBytes !== null && object.sizeBytes !== job.declaredSizeBytes) {
    return jobFailure.sizeMismatch(object.sizeBytes, job.declaredSizeBytes);
  }
  const storedType = object.contentType?.split(';')[0]?.trim().toLowerCase();
  if (storedType !== job.contentType) return jobFailure.contentTypeMismatch(storedType, job.contentType);
  return undefined;
}

/**
 * Confirms the object arrived and queues the job for analysis. Safe to call
 * any number of times, concurrently too: one transition, one outbox row, one
 * SQS message, and the same answer each time.
 */
export async function completeUpload(
  deps: UploadDeps,
  p: { owner: Owner; jobId: string; parts?: { partNumber: number; etag: string }[] },
): Promise<CompletedUpload> {
  const { db, storage, config, logger } = deps;
  const job = await findOwnedJob(db, p);
  if (!job) throw jobNotFound();
  // The job as this call left it, when it made the transition; otherwise read again below.
  let moved: VideoAnalysisJob | undefined;

  if (job.status === 'awaiting_upload') {
    if (job.uploadMode === 'multipart') await assembleMultipart(deps, job, p.parts);
    const object = await storage.head(job.s3Key);
    if (!object) {
      // S3 checks expiry when a PUT starts, so a slow upload may still land: report, don't expire here.
      if (job.uploadExpiresAt.getTime() < deps.now().getTime()) {
        throw new AppError(
          'UPLOAD_EXPIRED',
          'The upload link expired before the file arrived. Start a new upload with upload.initiate.',
        );
      }
      throw new AppError(
        'UPLOAD_NOT_FOUND',
        'No video has been uploaded for this job yet. Upload the file to the presigned URL, then call upload.complete again.',
      );
    }
    const rejection = checkStoredObject(job, object, config.maxUploadBytes);
    if (rejection) {
      moved = await moveJob(db, {
        jobId: job.id,
        from: 'awaiting_upload',
        to: 'rejected',
        set: {
          sizeBytes: object.sizeBytes,
          ...failureColumns(rejection, deps.now()),
          // The URL stays valid: what it stores after the delete below must go too (the sweeper's watch).
          keyWritableUntil: keyWritableUntil(job, deps.now()),
        },
      });
      if (moved) {
        // Nothing will ever read a rejected upload; do not keep paying for it.
        await storage.delete(job.s3Key).catch((error: unknown) => {
          logger.warn({ err: error, jobId: job.id }, 'could not delete rejected upload');
        });
      }
    } else {
      moved = await db.transaction().execute(async (trx) => {
        const queued = await moveJob(trx, {
          jobId: job.id,
          from: 'awaiting_upload',
          to: 'queued',
          set: { sizeBytes: object.sizeBytes, etag: object.etag ?? null, queuedAt: deps.now() },
        });
        if (queued) {
          await deps.outbox.enqueue(trx, analysisOutboxMessage(queued, analysisDedupeKey.first(queued.id)));
        }
        return queued;
      });
    }
  }

  // Answer from the stored state, whoever made the transition.
  const current = moved ?? (await findOwnedJob(db, p));
  if (!current) throw jobNotFound();
  switch (current.status) {
    case 'awaiting_upload':
      // Only reachable if the job changed back under us, which no transition allows.
      throw new AppError('UPLOAD_NOT_FOUND', 'The upload could not be confirmed yet. Please try again.');
    case 'rejected':
      throw new AppError(
        'UPLOAD_REJECTED',
        `The upload was rejected: ${current.errorMessage ?? 'the file is not acceptable.'} Start a new upload.`,
      );
    case 'expired':
      throw new AppError('UPLOAD_EXPIRED', 'This upload expired before the file arrived. Start a new upload.');
    case 'aborted':
      throw new AppError('UPLOAD_ABORTED', 'This upload was cancelled. Start a new upload.');
    case 'queued':
    case 'processing':
    case 'completed':
    case 'failed': {
      const sqsMessageId = current.sqsMessageId ?? (await deps.outbox.dispatch(analysisDedupeKey.first(current.id)));
      return {
        jobId: current.id,
        status: current.status,
        sqsMessageId: sqsMessageId ?? null,
        message: sqsMessageId
          ? 'Video uploaded and queued for analysis.'
          : 'Video uploaded; it will be queued for analysis as soon as the queue is reachable.',
      };
    }
  }
}

function formatBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number(gib.toFixed(2))} GiB`;
  return `${Number((bytes / 1024 ** 2).toFixed(2))} MiB`;
}

/**
 * Cancels an upload that has not completed: the job becomes `aborted` and
 * whatever reached storage (parts or a whole object) is discarded. Aborting
 * twice answers the same.
 */
export async function abortUpload(
  deps: UploadDeps,
  p: { owner: Owner; jobId: string },
): Promise<{ jobId: string; status: JobStatus }> {
  const job = await findOwnedJob(deps.db, p);
  if (!job) throw jobNotFound();
  if (job.status !== 'awaiting_upload' && job.status !== 'aborted') {
    throw new AppError('UPLOAD_CLOSED', `This upload is already ${job.status}; it can no longer be cancelled.`);
  }
  await discardUpload(deps.storage, job);
  const aborted =
    (await moveJob(deps.db, {
      jobId: job.id,
      from: 'awaiting_upload',
      to: 'aborted',
      set: {
        ...failureColumns(jobFailure.uploadAborted(), deps.now()),
        // The URL stays valid after the discard above: the sweeper removes whatever it stores from now on.
        keyWritableUntil: keyWritableUntil(job, deps.now()),
      },
    })) ?? (await findOwnedJob(deps.db, p));
  if (!aborted) throw jobNotFound();
  if (aborted.status !== 'aborted') {
    throw new AppError('UPLOAD_CLOSED', `This upload is already ${aborted.status}; it can no longer be cancelled.`);
  }
  return { jobId: aborted.id, status: aborted.status };
}
