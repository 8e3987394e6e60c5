import { findAbandonedJobs, type VideoAnalysisJob } from '@coach/db';
import { analysisDedupeKey, analysisOutboxMessage, enqueueForRelay, writeLeasedJob } from '@coach/jobs';

import { applyRetryDecisions, retriesExhausted, type SweepPassOptions } from './options.ts';

type Lease = { jobId: string; leaseToken: string; lapsedForSeconds: number };

/**
 * `processing` jobs whose worker is gone (the lease lapsed past its grace):
 * failed once out of attempts, otherwise re-queued with a new message. The
 * takeover is a lease write, so a worker that renewed meanwhile keeps its job.
 */
export async function recoverAbandonedJobs(options: SweepPassOptions): Promise<{ requeued: number; failed: number }> {
  const found = await findAbandonedJobs(options.db, { graceSeconds: options.abandonedGraceSeconds, limit: options.limit });
  // A job is taken over by its lapsed lease: one without a token has nothing to take over.
  const leases = found.flatMap((job) =>
    job.leaseToken
      ? [
          {
            attempts: job.attempts,
            lease: { jobId: job.id, leaseToken: job.leaseToken, lapsedForSeconds: options.abandonedGraceSeconds },
          },
        ]
      : [],
  );
  const counts = await applyRetryDecisions(leases, options.maxAttempts, {
    fail: async ({ lease, attempts }) =>
      (await writeLeasedJob(options.db, { ...lease, to: 'failed', set: retriesExhausted(attempts) })) !== undefined,
    retry: async ({ lease, attempts }) => {
      if (!(await requeue(options, lease))) return false;
      options.logger.warn({ jobId: lease.jobId, attempts }, 'abandoned job re-queued');
      return true;
    },
  });
  return { requeued: counts.retried, failed: counts.failed };
}

/** Back to `queued` with a message for the relay, in one transaction; undefined when the lease was not lost after all. */
function requeue(options: SweepPassOptions, lease: Lease): Promise<VideoAnalysisJob | undefined> {
  return options.db.transaction().execute(async (trx) => {
    const row = await writeLeasedJob(trx, { ...lease, to: 'queued' });
    if (row) await enqueueForRelay(trx, analysisOutboxMessage(row, analysisDedupeKey.retry(row.id, row.attempts)));
    return row;
  });
}
