import type { ObjectStorage } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import { failureColumns, jobFailure, type Logger, type RetentionPolicy } from '@coach/jobs';

import { recordJobFailure } from '../job/settlement.ts';

export interface SweeperOptions {
  db: Kysely<Database>;
  storage: ObjectStorage;
  logger: Logger;
  /** The API's `MAX_UPLOAD_BYTES`, for checking a landed upload as upload.complete would. */
  maxUploadBytes: number;
  /**
   * After the upload URL expired, how long a slow PUT may still be finishing: an
   * upload is expired only then, and a closed upload's key is watched as long.
   */
  uploadGraceSeconds: number;
  /** How long past its lease a `processing` job must be before it counts as abandoned. */
  abandonedGraceSeconds: number;
  /** How long a `queued` job may sit untouched before its message is presumed lost. */
  staleQueuedSeconds: number;
  /** Claims allowed per job before it is failed. */
  maxAttempts: number;
  batchSize?: number;
  /** Keys listed and deleted per storage request when carrying out a deletion (default 1000, S3's most). */
  deletionBatchSize?: number;
  /** How long after a deleted job's lease expired a write its worker began may still land (default 300 s). */
  deletionWriteMarginSeconds?: number;
  /** The first retry's delay after a failed deletion pass, doubling per attempt (default 5 s, at most 5 min). */
  deletionRetrySeconds?: number;
  /** Retention for owners without a policy of their own (`RETENTION_*`); absent: keep for ever. */
  retentionDefaults?: RetentionPolicy;
}

/** What every sweep pass reads; `limit` bounds the jobs (or keys) one pass handles. */
export type SweepPassOptions = Omit<SweeperOptions, 'batchSize'> & { limit: number };

/** What the sweeper does with an overdue job: fail it once out of attempts, else give it another try. */
export type RetryDecision = 'fail' | 'retry';

export function decideRetry(attempts: number, maxAttempts: number): RetryDecision {
  return attempts >= maxAttempts ? 'fail' : 'retry';
}

/**
 * Decides each job, then applies the decision; each step answers whether its
 * conditional write took (another sweeper or a live worker may have got there
 * first). Returns how many of each took.
 */
export async function applyRetryDecisions<TJob extends { attempts: number }>(
  jobs: readonly TJob[],
  maxAttempts: number,
  steps: Record<RetryDecision, (job: TJob) => Promise<boolean>>,
): Promise<{ failed: number; retried: number }> {
  const counts = { failed: 0, retried: 0 };
  for (const job of jobs) {
    const decision = decideRetry(job.attempts, maxAttempts);
    if (!(await steps[decision](job))) continue;
    if (decision === 'fail') {
      counts.failed += 1;
      // Every failure the sweeper writes is retriesExhausted's.
      recordJobFailure(jobFailure.retriesExhausted(job.attempts).code);
    } else counts.retried += 1;
  }
  return counts;
}

/** The failure written on a job that used up its attempts. */
export function retriesExhausted(attempts: number) {
  return failureColumns(jobFailure.retriesExhausted(attempts), new Date());
}
