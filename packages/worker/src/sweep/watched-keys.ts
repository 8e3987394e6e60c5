import type { ObjectStorage } from '@coach/aws';
import { findWatchedKeys, recordKeyChecks, type Database, type Kysely, type WatchedKey } from '@coach/db';
import type { Logger } from '@coach/jobs';

/**
 * Margin over the clocks involved (the API's that signed the URL, storage's
 * that judges it, the database's that ends the watch); NTP keeps them within
 * a second, and a few more checks cost little.
 */
export const CLOCK_SKEW_MARGIN_SECONDS = 300;
/** Storage calls in flight at once while checking a batch. */
const CHECK_CONCURRENCY = 8;

export interface KeyWatchReport {
  /** Watched keys checked this sweep. */
  keysChecked: number;
  /** Objects found at a watched key and deleted: stored through a URL after its upload closed. */
  orphansRemoved: number;
  /** Keys no URL can write any more, checked one last time and no longer watched. */
  watchesEnded: number;
}

type CheckOutcome = 'empty' | 'removed' | 'failed';

/**
 * Removes what reached the keys of uploads that closed without a video
 * (aborted, rejected, expired): their presigned URLs stay valid until they
 * expire, and create-only no longer blocks once the object was deleted. A key
 * is watched until a check that began after `keyWritableUntil` plus the upload
 * grace (a PUT begun before expiry may still be arriving) and the clock-skew
 * margin; only then is it released. One indexed query and one update per
 * sweep; at most `limit` keys are checked, least recently checked first.
 */
export async function sweepWatchedKeys(options: {
  db: Kysely<Database>;
  storage: ObjectStorage;
  logger: Logger;
  uploadGraceSeconds: number;
  limit: number;
}): Promise<KeyWatchReport> {
  const { db, storage, logger } = options;
  const batch = await findWatchedKeys(db, { limit: options.limit });
  const report: KeyWatchReport = { keysChecked: 0, orphansRemoved: 0, watchesEnded: 0 };
  const first = batch[0];
  if (!first) return report;

  const outcomes: CheckOutcome[] = [];
  for (let at = 0; at < batch.length; at += CHECK_CONCURRENCY) {
    const slice = batch.slice(at, at + CHECK_CONCURRENCY);
    outcomes.push(...(await Promise.all(slice.map((key) => checkKey(storage, logger, key)))));
  }

  const released: string[] = [];
  batch.forEach((key, i) => {
    const outcome = outcomes[i];
    if (outcome === 'removed') report.orphansRemoved += 1;
    if (outcome !== 'failed' && isPastEveryWrite(key, options.uploadGraceSeconds)) released.push(key.id);
  });
  // A failed check still moves to the back of the rotation (one broken key must not hold the front), but stays watched.
  await recordKeyChecks(db, { checked: batch.map((key) => key.id), released, checkedAt: first.checkFrom });
  report.keysChecked = batch.length;
  report.watchesEnded = released.length;
  return report;
}

/** True when this check began after the last write any of the job's URLs could have started had time to land. */
export function isPastEveryWrite(key: Pick<WatchedKey, 'keyWritableUntil' | 'checkFrom'>, uploadGraceSeconds: number): boolean {
  const lastLanding = key.keyWritableUntil.getTime() + (uploadGraceSeconds + CLOCK_SKEW_MARGIN_SECONDS) * 1000;
  return key.checkFrom.getTime() > lastLanding;
}

async function checkKey(storage: ObjectStorage, logger: Logger, key: WatchedKey): Promise<CheckOutcome> {
  try {
    // S3 may let a part upload in flight during an abort finish; aborting again frees it (a gone upload is no error).
    if (key.multipartUploadId) await storage.abortMultipartUpload({ key: key.s3Key, uploadId: key.multipartUploadId });
    if (!(await storage.head(key.s3Key))) return 'empty';
    await storage.delete(key.s3Key);
    logger.warn({ jobId: key.id }, 'removed an object stored after its upload closed');
    return 'removed';
  } catch (error) {
    logger.warn({ err: error, jobId: key.id }, 'could not check the key of a closed upload');
    return 'failed';
  }
}
