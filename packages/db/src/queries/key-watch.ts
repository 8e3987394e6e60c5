import { sql, type Kysely } from 'kysely';

import type { Database, VideoAnalysisJob } from '../schema.ts';

export type WatchedKey = Pick<VideoAnalysisJob, 'id' | 's3Key' | 'multipartUploadId'> & {
  keyWritableUntil: Date;
  /** The database's clock when the batch was read: every check of this batch begins after it. */
  checkFrom: Date;
};

/**
 * Keys of uploads that closed without a video and are still watched, least
 * recently checked first (never checked before all others), so a bounded
 * batch per sweep still reaches every key in turn.
 */
export async function findWatchedKeys(db: Kysely<Database>, p: { limit: number }): Promise<WatchedKey[]> {
  const rows = await db
    .selectFrom('videoAnalysisJobs')
    .select([
      'id',
      's3Key',
      'multipartUploadId',
      // A single PUT's URLs expire by the upload's deadline, which a concurrent repeated initiate may have
      // pushed after the closing call read it: the later of the two counts (greatest ignores the null).
      sql<Date | null>`greatest(key_writable_until, case when multipart_upload_id is null then upload_expires_at end)`.as(
        'keyWritableUntil',
      ),
      sql<Date>`now()`.as('checkFrom'),
    ])
    .where('keyWritableUntil', 'is not', null)
    .orderBy(sql`key_checked_at asc nulls first`)
    .limit(p.limit)
    .execute();
  return rows.flatMap(({ keyWritableUntil, ...row }) => (keyWritableUntil ? [{ ...row, keyWritableUntil }] : []));
}

/**
 * Records one sweep's checks: every job in `checked` moves to the back of the
 * rotation; those in `released` are no longer watched.
 */
export async function recordKeyChecks(
  db: Kysely<Database>,
  p: { checked: readonly string[]; released: readonly string[]; checkedAt: Date },
): Promise<void> {
  if (p.checked.length === 0) return;
  await db
    .updateTable('videoAnalysisJobs')
    .set({
      keyCheckedAt: p.checkedAt,
      keyWritableUntil:
        p.released.length === 0
          ? sql<Date>`key_writable_until`
          : sql<Date | null>`case when id = any(${[...p.released]}::uuid[]) then null else key_writable_until end`,
    })
    .where('id', 'in', [...p.checked])
    .execute();
}
