import { findOwnedJob, recordAuditEvent, type AuditActor, type JobStatus, type Owner } from '@coach/db';
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
  p: { owner: Owner; actor: AuditActor; jobId: string },
): Promise<{ jobId: string; status: JobStatus }> {
  const job = await findOwnedJob(deps.db, p);
  if (!job) throw jobNotFound();
  if (job.status !== 'awaiting_upload' && job.status !== 'aborted') {
    throw new AppError('UPLOAD_CLOSED', `This upload is already ${job.status}; it can no longer be cancelled.`);
  }
  await discardUpload(deps.storage, job);
  // The transition and its audit entry commit together; a repeat (already aborted) records nothing.
  const moved = await deps.db.transaction().execute(async (trx) => {
    const row = await moveJob(trx, {
      jobId: job.id,
      from: 'awaiting_upload',
      to: 'aborted',
      set: {
        ...failureColumns(jobFailure.uploadAborted(), deps.now()),
        // The URL stays valid after the discard above: the sweeper removes whatever it stores from now on.
        keyWritableUntil: keyWritableUntil(job, deps.now()),
      },
    });
    if (row) {
      await recordAuditEvent(trx, {
        owner: p.owner,
        actor: p.actor,
        action: 'upload.aborted',
        target: { type: 'job', id: row.id },
        sessionId: row.sessionId,
      });
    }
    return row;
  });
  const aborted = moved ?? (await findOwnedJob(deps.db, p));
  if (!aborted) throw jobNotFound();
  if (aborted.status !== 'aborted') {
    throw new AppError('UPLOAD_CLOSED', `This upload is already ${aborted.status}; it can no longer be cancelled.`);
  }
  return { jobId: aborted.id, status: aborted.status };
}
