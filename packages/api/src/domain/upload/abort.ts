import { findOwnedJob, type JobStatus, type Owner } from '@coach/db';
import { discardUpload, failureColumns, jobFailure, keyWritableUntil, moveJob } from '@coach/jobs';

import { AppError } from '../errors.ts';
import { jobNotFound } from '../jobs.ts';
import type { UploadDeps } from './deps.ts';

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
