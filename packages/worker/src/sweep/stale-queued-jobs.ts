import {
  analysisDedupeKey,
  analysisOutboxMessage,
  enqueueForRelay,
  failureColumns,
  jobFailure,
  moveJob,
} from '@coach/jobs';
import {
  countOutboxMessages,
  findStaleQueuedJobs,
  hasUnsentOutboxMessage,
  touchStaleQueuedJob,
  type VideoAnalysisJob,
} from '@coach/db';

import { decideRetry, type SweepPassOptions } from './options.ts';

/**
 * `queued` jobs untouched for a long time, whose message was presumably lost:
 * failed once out of attempts (the last message was dead-lettered or lost),
 * otherwise sent another message.
 */
export async function redispatchStaleJobs(options: SweepPassOptions): Promise<{ redispatched: number; failed: number }> {
  const { db } = options;
  const counts = { redispatched: 0, failed: 0 };
  for (const job of await findStaleQueuedJobs(db, { staleSeconds: options.staleQueuedSeconds, limit: options.limit })) {
    if (decideRetry(job.attempts, options.maxAttempts) === 'fail') {
      const failed = await moveJob(db, {
        jobId: job.id,
        from: 'queued',
        to: 'failed',
        set: failureColumns(jobFailure.retriesExhausted(job.attempts), new Date()),
      });
      if (failed) counts.failed += 1;
      continue;
    }
    if (await redispatch(options, job)) {
      counts.redispatched += 1;
      options.logger.warn({ jobId: job.id }, 'queued job had no live message; sent another');
    }
  }
  return counts;
}

/** Another message for the relay, only when every message so far went out: an unsent one is still the relay's to deliver. */
function redispatch(options: SweepPassOptions, job: VideoAnalysisJob): Promise<boolean> {
  return options.db.transaction().execute(async (trx) => {
    if (await hasUnsentOutboxMessage(trx, { jobId: job.id })) return false;
    if (!(await touchStaleQueuedJob(trx, { jobId: job.id, staleSeconds: options.staleQueuedSeconds }))) return false;
    const sent = await countOutboxMessages(trx, { jobId: job.id });
    await enqueueForRelay(trx, analysisOutboxMessage(job, analysisDedupeKey.redispatch(job.id, sent)));
    return true;
  });
}
