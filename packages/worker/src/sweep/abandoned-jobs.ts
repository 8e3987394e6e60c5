import {
  analysisDedupeKey,
  analysisOutboxMessage,
  enqueueForRelay,
  failureColumns,
  jobFailure,
  writeLeasedJob,
} from '@coach/jobs';
import { findAbandonedJobs, type VideoAnalysisJob } from '@coach/db';

import { decideRetry, type SweepPassOptions } from './options.ts';

/**
 * `processing` jobs whose worker is gone (the lease lapsed past its grace):
 * failed once out of attempts, otherwise re-queued with a new message. The
 * takeover is a lease write, so a worker that renewed meanwhile keeps its job.
 */
export async function recoverAbandonedJobs(options: SweepPassOptions): Promise<{ requeued: number; failed: number }> {
  const { db } = options;
  const counts = { requeued: 0, failed: 0 };
  for (const job of await findAbandonedJobs(db, { graceSeconds: options.abandonedGraceSeconds, limit: options.limit })) {
    const leaseToken = job.leaseToken;
    if (!leaseToken) continue;
    const lease = { jobId: job.id, leaseToken, lapsedForSeconds: options.abandonedGraceSeconds };
    if (decideRetry(job.attempts, options.maxAttempts) === 'fail') {
      const failed = await writeLeasedJob(db, {
        ...lease,
        to: 'failed',
        set: failureColumns(jobFailure.retriesExhausted(job.attempts), new Date()),
      });
      if (failed) counts.failed += 1;
      continue;
    }
    if (await requeue(options, lease)) {
      counts.requeued += 1;
      options.logger.warn({ jobId: job.id, attempts: job.attempts }, 'abandoned job re-queued');
    }
  }
  return counts;
}

/** Back to `queued` with a message for the relay, in one transaction; undefined when the lease was not lost after all. */
function requeue(
  options: SweepPassOptions,
  lease: { jobId: string; leaseToken: string; lapsedForSeconds: number },
): Promise<VideoAnalysisJob | undefined> {
  return options.db.transaction().execute(async (trx) => {
    const row = await writeLeasedJob(trx, { ...lease, to: 'queued' });
    if (row) await enqueueForRelay(trx, analysisOutboxMessage(row, analysisDedupeKey.retry(row.id, row.attempts)));
    return row;
  });
}
