import { findExpiredUploads, type VideoAnalysisJob } from '@coach/db';
import { discardUpload, failureColumns, jobFailure, keyWritableUntil, moveJob, signals } from '@coach/jobs';

import { completeLandedUpload, type LandedUploadDeps } from '../upload-events/complete-landed.ts';
import type { SweepPassOptions } from './options.ts';

export interface ExpiryReport {
  expired: number;
  /** Overdue uploads whose bytes had landed: completed and queued for analysis instead. */
  completed: number;
  /** Overdue uploads whose stored object failed the checks: rejected as upload.complete would. */
  rejected: number;
}

/**
 * Closes uploads idle past their window: the deadline (pushed out by every
 * sign, record or list of parts, repeated initiate and complete attempt, up
 * to the maximum lifetime) plus the grace for a PUT begun in time. Storage
 * is checked first, so nothing that landed is deleted as expired: an object
 * that is there is completed (a multipart upload whose planned parts are all
 * recorded is assembled) or rejected, exactly as upload.complete would. Only
 * an upload with nothing complete in storage expires, and whatever partial
 * state reached storage (parts, or a PUT finishing meanwhile) is discarded.
 */
export async function expireUploads(options: SweepPassOptions): Promise<ExpiryReport> {
  const report: ExpiryReport = { expired: 0, completed: 0, rejected: 0 };
  for (const job of await findExpiredUploads(options.db, { graceSeconds: options.uploadGraceSeconds, limit: options.limit })) {
    let outcome;
    try {
      outcome = await completeLandedUpload(options, job, 'sweeper');
    } catch (error) {
      // Storage or the database did not answer: what landed is unknown, so nothing is expired this round.
      options.logger.warn({ err: error, jobId: job.id }, 'could not check an overdue upload in storage; left for the next sweep');
      continue;
    }
    if (outcome === 'queued') report.completed += 1;
    else if (outcome === 'rejected') report.rejected += 1;
    else if (outcome === 'nothing-landed' && (await expire(options, job))) report.expired += 1;
  }
  return report;
}

async function expire(options: LandedUploadDeps, job: VideoAnalysisJob): Promise<boolean> {
  const now = new Date();
  const moved = await moveJob(options.db, {
    jobId: job.id,
    from: 'awaiting_upload',
    to: 'expired',
    set: { ...failureColumns(jobFailure.uploadExpired(), now), keyWritableUntil: keyWritableUntil(job, now) },
  });
  if (!moved) return false;
  signals().uploadsExpired.add(1);
  await discardUpload(options.storage, job).catch((error: unknown) => {
    options.logger.warn({ err: error, jobId: job.id }, 'could not discard an expired upload');
  });
  return true;
}
