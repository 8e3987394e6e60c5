import { findOwnedJob, type JobStatus, type Owner, type VideoAnalysisJob } from '@coach/db';
import { analysisDedupeKey, analysisOutboxMessage, failureColumns, keyWritableUntil, moveJob } from '@coach/jobs';

import { AppError } from '../errors.ts';
import { jobNotFound } from '../jobs.ts';
import { assembleMultipart } from '../multipart.ts';
import { pushUploadDeadline } from './deadline.ts';
import type { UploadDeps } from './deps.ts';
import { checkStoredObject } from './stored-object.ts';

export interface CompletedUpload {
  jobId: string;
  status: JobStatus;
  sqsMessageId: string | null;
  message: string;
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
  const job = await findOwnedJob(deps.db, p);
  if (!job) throw jobNotFound();
  // The job as this call left it, when it made the transition; otherwise read again below.
  const moved =
    job.status === 'awaiting_upload' ? await closeUpload(deps, await withPushedDeadline(deps, job), p.parts) : undefined;
  // Answer from the stored state, whoever made the transition.
  const current = moved ?? (await findOwnedJob(deps.db, p));
  if (!current) throw jobNotFound();
  return answerFor(deps, current);
}

/** A complete attempt is progress: the job with its deadline pushed out (as it was, once passed). */
async function withPushedDeadline(deps: UploadDeps, job: VideoAnalysisJob): Promise<VideoAnalysisJob> {
  const deadline = await pushUploadDeadline(deps, job.id);
  return deadline ? { ...job, uploadExpiresAt: deadline } : job;
}

/**
 * Checks what was stored for a job awaiting its upload and moves it on:
 * `queued` with its outbox row, or `rejected` with the object deleted.
 * Undefined when another call moved it first.
 */
async function closeUpload(
  deps: UploadDeps,
  job: VideoAnalysisJob,
  parts: { partNumber: number; etag: string }[] | undefined,
): Promise<VideoAnalysisJob | undefined> {
  const { db, storage, config, logger } = deps;
  if (job.uploadMode === 'multipart') await assembleMultipart(deps, job, parts);
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
    const rejected = await moveJob(db, {
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
    if (rejected) {
      // Nothing will ever read a rejected upload; do not keep paying for it.
      await storage.delete(job.s3Key).catch((error: unknown) => {
        logger.warn({ err: error, jobId: job.id }, 'could not delete rejected upload');
      });
    }
    return rejected;
  }
  return db.transaction().execute(async (trx) => {
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

/** The answer for the job's stored state: its message id once queued (sending it now if needed), else why not. */
async function answerFor(deps: UploadDeps, current: VideoAnalysisJob): Promise<CompletedUpload> {
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
