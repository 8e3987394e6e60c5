import type { ObjectStorage } from '@coach/aws';
import {
  claimDueDeletions,
  findJob,
  findSessionOwner,
  recordDeletionFailure,
  recordDeletionPass,
  type ClaimedDeletion,
  type Database,
  type Kysely,
} from '@coach/db';
import { deleteJobRows, deleteOriginal, emptyPrefix, type Logger } from '@coach/jobs';

import { CLOCK_SKEW_MARGIN_SECONDS } from './watched-keys.ts';

/** A claim outlives any pass: one that dies holds its rows only this long. */
const CLAIM_SECONDS = 120;
const RETRY_BASE_SECONDS = 5;
const RETRY_MAX_SECONDS = 300;

export interface DeletionPassOptions {
  db: Kysely<Database>;
  storage: ObjectStorage;
  logger: Logger;
  limit: number;
  /** Keys listed and deleted per request (S3 allows up to 1000). */
  deletionBatchSize?: number;
  /**
   * How long after a lease's expiry a write its worker began may still land
   * (the worker finds the lease gone at its next renewal, and a PUT in flight
   * then still finishes); a job deleted while being analysed is emptied again
   * by a pass that begins after it.
   */
  deletionWriteMarginSeconds?: number;
  /** The first retry's delay after a failed pass (doubling per attempt, at most 5 min). */
  deletionRetrySeconds?: number;
}

export interface DeletionReport {
  /** Deletion rows whose pass ran to the end this sweep. */
  deletionPasses: number;
  /** Of those, rows now done: storage held nothing under their prefix any more. */
  deletionsDone: number;
  objectsDeleted: number;
  deletionFailures: number;
}

/**
 * Carries out recorded deletions (README in `packages/jobs/src/deletion/`):
 * claims due rows, empties each prefix (a session's row first deletes any job
 * of the session still live), and records each pass. A failure leaves the row
 * pending with a backoff; a pass that dies leaves it claimed until the claim
 * lapses. Either way the next pass lists the prefix again.
 */
export async function carryOutDeletions(options: DeletionPassOptions): Promise<DeletionReport> {
  const { db, logger } = options;
  const report: DeletionReport = { deletionPasses: 0, deletionsDone: 0, objectsDeleted: 0, deletionFailures: 0 };
  const rows = await claimDueDeletions(db, { limit: options.limit, claimSeconds: CLAIM_SECONDS });
  for (const row of rows) {
    let deleted = 0;
    const count = (n: number) => (deleted += n);
    try {
      await runPass(options, row, count);
      const margin = (options.deletionWriteMarginSeconds ?? CLOCK_SKEW_MARGIN_SECONDS) * 1000;
      const lastWrite = new Date(row.repeatUntil.getTime() + margin);
      const done = row.passStartedAt.getTime() > lastWrite.getTime();
      await recordDeletionPass(db, { id: row.id, objectsDeleted: deleted, done, dueAgainAt: lastWrite });
      report.deletionPasses += 1;
      report.objectsDeleted += deleted;
      if (done) report.deletionsDone += 1;
    } catch (error) {
      report.deletionFailures += 1;
      report.objectsDeleted += deleted;
      logger.warn(
        { err: error, deletionId: row.id, jobId: row.jobId, sessionId: row.sessionId },
        'deletion pass failed; will retry',
      );
      const base = options.deletionRetrySeconds ?? RETRY_BASE_SECONDS;
      const retryInSeconds = Math.min(base * 2 ** Math.max(0, row.attempts - 1), RETRY_MAX_SECONDS);
      await recordDeletionFailure(db, {
        id: row.id,
        objectsDeleted: deleted,
        error: error instanceof Error ? error.message : String(error),
        retryInSeconds,
      });
    }
  }
  return report;
}

async function runPass(options: DeletionPassOptions, row: ClaimedDeletion, count: (n: number) => void): Promise<void> {
  const { db, storage } = options;
  const { sessionId, jobId, multipartUploadId } = row;
  // Retention removing an original: its key is the row's prefix, and nothing beside it goes.
  if (row.scope === 'original') return deleteOriginal(storage, row.prefix, { onDeleted: count });
  if (sessionId) {
    // A job whose upload.initiate read the session just before its deletion committed: deleted here, with its own row.
    const owner = await findSessionOwner(db, { sessionId });
    if (owner) {
      await db.transaction().execute(async (trx) => {
        await deleteJobRows(trx, {
          owner,
          requestedBy: row.requestedBy,
          sessionId,
          audit: { actor: { kind: 'system', id: 'sweeper' }, reason: 'session-deleted' },
        });
      });
    }
  }
  // S3 may let a part in flight during an abort finish; aborting again frees it (a gone upload is no error).
  if (jobId && multipartUploadId) {
    const job = await findJob(db, { jobId });
    if (job) await storage.abortMultipartUpload({ key: job.s3Key, uploadId: multipartUploadId });
  }
  await emptyPrefix(storage, row.prefix, { batchSize: options.deletionBatchSize, onDeleted: count });
}
