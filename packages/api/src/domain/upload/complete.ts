import { findOwnedJob, type AuditActor, type JobStatus, type Owner, type VideoAnalysisJob } from '@coach/db';
import { analysisDedupeKey, completeStoredUpload } from '@coach/jobs';

import { AppError } from '../errors.ts';
import { jobNotFound } from '../jobs.ts';
import { recordGivenParts } from '../multipart.ts';
import { pushUploadDeadline } from './deadline.ts';
import type { UploadDeps } from './deps.ts';

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
  p: { owner: Owner; actor: AuditActor; jobId: string; parts?: { partNumber: number; etag: string }[] },
): Promise<CompletedUpload> {
  const job = await findOwnedJob(deps.db, p);
  if (!job) throw jobNotFound();
  // The job as this call left it, when it made the transition; otherwise read again below.
  const moved = job.status === 'awaiting_upload' ? await closeUpload(deps, await withPushedDeadline(deps, job), p) : undefined;
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
 * Records the parts given now, then runs the completion the worker shares
 * (`completeStoredUpload`): `queued` with its outbox row, or `rejected` with
 * the object deleted. Undefined when another caller moved the job first.
 */
async function closeUpload(
  deps: UploadDeps,
  job: VideoAnalysisJob,
  p: { actor: AuditActor; parts?: { partNumber: number; etag: string }[] | undefined },
): Promise<VideoAnalysisJob | undefined> {
  if (job.uploadMode === 'multipart') await recordGivenParts(deps, job, p.parts);
  const outcome = await completeStoredUpload({ ...deps, maxUploadBytes: deps.config.maxUploadBytes, completedBy: p.actor }, job);
  switch (outcome.kind) {
    case 'queued':
    case 'rejected':
      return outcome.job;
    case 'taken':
      return undefined;
    case 'parts-missing': {
      const missing = outcome.missingPartNumbers;
      const shown = missing.slice(0, 20).join(', ');
      const more = missing.length > 20 ? ` and ${missing.length - 20} more` : '';
      throw new AppError(
        'UPLOAD_INCOMPLETE',
        `Parts ${shown}${more} have not been uploaded yet. Upload them, then complete again.`,
      );
    }
    case 'parts-invalid':
      throw new AppError(
        'UPLOAD_PARTS_INVALID',
        'Storage refused the uploaded parts (one was missing, corrupted or too small). Upload the parts again (upload.listParts lists them), then complete again.',
        { cause: outcome.cause },
      );
    case 'not-stored':
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
    case 'deleted':
      // Deleted while this call ran: as gone as any deleted job.
      throw jobNotFound();
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
