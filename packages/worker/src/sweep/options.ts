import type { ObjectStorage } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import type { Logger } from '@coach/jobs';

/** What every sweep pass reads; `limit` bounds the jobs (or keys) one pass handles. */
export interface SweepPassOptions {
  db: Kysely<Database>;
  storage: ObjectStorage;
  logger: Logger;
  uploadGraceSeconds: number;
  abandonedGraceSeconds: number;
  staleQueuedSeconds: number;
  maxAttempts: number;
  limit: number;
}

/** What the sweeper does with a job it found overdue: decided first, then applied. */
export type RetryDecision = 'fail' | 'retry';

/** A job claimed `attempts` times is failed once it reached `maxAttempts`, else given another try. */
export function decideRetry(attempts: number, maxAttempts: number): RetryDecision {
  return attempts >= maxAttempts ? 'fail' : 'retry';
}
