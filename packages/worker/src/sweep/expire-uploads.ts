import { findExpiredUploads } from '@coach/db';
import { discardUpload, failureColumns, jobFailure, keyWritableUntil, moveJob } from '@coach/jobs';

import type { SweepPassOptions } from './options.ts';

/**
 * Expires uploads idle past their window: the deadline (pushed out by every
 * sign, record or list of parts, repeated initiate and complete attempt, up
 * to the maximum lifetime) plus the grace for a PUT begun in time passed with
 * no completed upload. Discards whatever reached storage: parts or a PUT that
 * finished after the deadline would otherwise be stored forever. Returns how
 * many expired.
 */
export async function expireUploads(options: SweepPassOptions): Promise<number> {
  const { db, storage, logger } = options;
  let expired = 0;
  for (const job of await findExpiredUploads(db, { graceSeconds: options.uploadGraceSeconds, limit: options.limit })) {
    const now = new Date();
    const moved = await moveJob(db, {
      jobId: job.id,
      from: 'awaiting_upload',
      to: 'expired',
      set: { ...failureColumns(jobFailure.uploadExpired(), now), keyWritableUntil: keyWritableUntil(job, now) },
    });
    if (!moved) continue;
    expired += 1;
    await discardUpload(storage, job).catch((error: unknown) => {
      logger.warn({ err: error, jobId: job.id }, 'could not discard an expired upload');
    });
  }
  return expired;
}
