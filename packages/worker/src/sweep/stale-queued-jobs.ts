import {
  countOutboxMessages,
  findStaleQueuedJobs,
  hasUnsentOutboxMessage,
  touchStaleQueuedJob,
  type VideoAnalysisJob,
} from '@coach/db';
import { analysisDedupeKey, analysisOutboxMessage, enqueueForRelay, moveJob } from '@coach/jobs';

import { applyRetryDecisions, retriesExhausted, type SweepPassOptions } from './options.ts';

/**
 * `queued` jobs untouched for a long time, whose message was presumably lost:
 * failed once out of attempts (the last message was dead-lettered or lost),
 * otherwise sent another message.
 */
export async function redispatchStaleJobs(options: SweepPassOptions): Promise<{ redispatched: number; failed: number }> {
  const stale = await findStaleQueuedJobs(options.db, { staleSeconds: options.staleQueuedSeconds, limit: options.limit });
  const counts = await applyRetryDecisions(stale, options.maxAttempts, {
    fail: async (job) =>
      (await moveJob(options.db, { jobId: job.id, from: 'queued', to: 'failed', set: retriesExhausted(job.attempts) })) !==
      undefined,
    retry: async (job) => {
      if (!(await redispatch(options, job))) return false;
      options.logger.warn({ jobId: job.id }, 'queued job had no live message; sent another');
      return true;
    },
  });
  return { redispatched: counts.retried, failed: counts.failed };
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
