import { sql, type Kysely } from 'kysely';

import type { Database, DeletionScope, JobStatus, StorageDeletion, VideoSession } from '../schema.ts';
import type { Owner } from './owner.ts';

/** A job as it was when `markJobsDeleted` deleted it. */
export interface DeletedJobRow {
  id: string;
  sessionId: string;
  s3Key: string;
  multipartUploadId: string | null;
  /** Its status before the deletion. */
  previousStatus: JobStatus;
  /** Until when a worker held its lease (null when none): that worker may write to storage until then. */
  leaseHeldUntil: Date | null;
}

/**
 * Moves every matching job of `owner` that is not deleted yet to `deleted`,
 * in one statement: the row stays as a tombstone with its content (result,
 * error message, subject hint, idempotency key) and lease cleared, so a worker holding the
 * lease can no longer write it. An open upload's key is watched as an abort's
 * is (`key_writable_until`: a single PUT's URLs stay valid until its
 * deadline; part URLs die with the upload id). Unsent outbox rows nobody is
 * sending are dropped. Call inside the transaction that records the deletion.
 */
export async function markJobsDeleted(
  db: Kysely<Database>,
  p: { owner: Owner; jobIds?: readonly string[]; sessionId?: string },
): Promise<DeletedJobRow[]> {
  // Never every job of an owner by omission.
  if (!p.jobIds && !p.sessionId) throw new Error('markJobsDeleted needs jobIds or a sessionId');
  if (p.jobIds?.length === 0) return [];
  const byJob = p.jobIds ? sql`and id = any(${[...p.jobIds]}::uuid[])` : sql``;
  const bySession = p.sessionId ? sql`and session_id = ${p.sessionId}::uuid` : sql``;
  const { rows } = await sql<DeletedJobRow>`
    with target as (
      select id, status, lease_expires_at, size_bytes,
        -- a stored original still counted in its owner's used bytes (an unfinished upload's
        -- reservation is released by the trigger on its move out of awaiting_upload)
        (usage_released_at is null and size_bytes is not null
          and status in ('queued', 'processing', 'completed', 'failed')) as holds_storage
      from video_analysis_jobs
      where owner_type = ${p.owner.type} and owner_id = ${p.owner.id} and status <> 'deleted' ${byJob} ${bySession}
      for update
    ), released as (
      update owner_usage u set used_bytes = u.used_bytes - freed.bytes
      from (select sum(size_bytes) as bytes from target where holds_storage) freed
      where u.owner_type = ${p.owner.type} and u.owner_id = ${p.owner.id} and freed.bytes > 0
    ), deleted as (
      update video_analysis_jobs j set
        status = 'deleted', deleted_at = now(), updated_at = now(),
        result = null, error_message = null, subject_hint_x = null, subject_hint_y = null,
        lease_token = null, lease_owner = null, lease_expires_at = null, lease_message_id = null,
        -- the caller's idempotency key is free again: a new initiate with it starts a new upload
        client_request_id = null,
        usage_released_at = case when t.holds_storage then now() else j.usage_released_at end,
        key_writable_until = case when j.status = 'awaiting_upload'
          then case when j.multipart_upload_id is null then j.upload_expires_at else now() end
          else j.key_writable_until end
      from target t
      where j.id = t.id and j.status <> 'deleted'
      returning j.id, j.session_id, j.s3_key, j.multipart_upload_id, t.status as previous_status,
        case when t.status = 'processing' then t.lease_expires_at end as lease_held_until
    ), dropped_messages as (
      delete from outbox_messages o using deleted d
      where o.job_id = d.id and o.sent_at is null and (o.claimed_until is null or o.claimed_until < now())
    )
    select * from deleted`.execute(db);
  return rows;
}

/**
 * Marks one session of `owner` deleted and empties what it said (title,
 * players). Undefined when there is no such live session for this owner.
 */
export async function markSessionDeleted(
  db: Kysely<Database>,
  p: { owner: Owner; sessionId: string },
): Promise<Pick<VideoSession, 'id'> | undefined> {
  return db
    .updateTable('videoSessions')
    .set({ deletedAt: sql<Date>`now()`, title: '', playerIds: [] })
    .where('id', '=', p.sessionId)
    .where('ownerType', '=', p.owner.type)
    .where('ownerId', '=', p.owner.id)
    .where('deletedAt', 'is', null)
    .returning(['id'])
    .executeTakeFirst();
}

/** The live sessions of `owner` listing `playerId`, locked for the erasure's transaction. */
export async function lockSessionsWithPlayer(
  db: Kysely<Database>,
  p: { owner: Owner; playerId: string },
): Promise<Pick<VideoSession, 'id' | 'playerIds'>[]> {
  return db
    .selectFrom('videoSessions')
    .select(['id', 'playerIds'])
    .where('ownerType', '=', p.owner.type)
    .where('ownerId', '=', p.owner.id)
    .where('deletedAt', 'is', null)
    .where(sql<boolean>`player_ids @> array[${p.playerId}]::text[]`)
    .orderBy('createdAt')
    .orderBy('id')
    .forUpdate()
    .execute();
}

/** Removes `playerId` from one session's players (every occurrence). */
export async function removeSessionPlayer(db: Kysely<Database>, p: { sessionId: string; playerId: string }): Promise<void> {
  await db
    .updateTable('videoSessions')
    .set({ playerIds: sql<string[]>`array_remove(player_ids, ${p.playerId}::text)` })
    .where('id', '=', p.sessionId)
    .execute();
}

export interface NewStorageDeletion {
  target: { jobId: string } | { sessionId: string };
  scope: DeletionScope;
  prefix: string;
  multipartUploadId: string | null;
  /** Null: no writer can still be at work, one pass that empties the prefix is enough. */
  repeatUntil: Date | null;
  requestedBy: string;
}

/** Records what storage must lose; a target already recorded for the scope records nothing again. */
export async function insertStorageDeletions(db: Kysely<Database>, rows: readonly NewStorageDeletion[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('storageDeletions')
    .values(
      rows.map((row) => ({
        jobId: 'jobId' in row.target ? row.target.jobId : null,
        sessionId: 'sessionId' in row.target ? row.target.sessionId : null,
        scope: row.scope,
        prefix: row.prefix,
        multipartUploadId: row.multipartUploadId,
        ...(row.repeatUntil ? { repeatUntil: row.repeatUntil } : {}),
        requestedBy: row.requestedBy,
      })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export type ClaimedDeletion = StorageDeletion & {
  /** The database's clock when the claim was taken: every storage call of this pass begins after it. */
  passStartedAt: Date;
};

/** Claims up to `limit` due deletions, oldest first, skipping rows another sweeper holds. */
export async function claimDueDeletions(
  db: Kysely<Database>,
  p: { limit: number; claimSeconds: number },
): Promise<ClaimedDeletion[]> {
  return db
    .updateTable('storageDeletions')
    .set((eb) => ({
      claimedUntil: sql<Date>`now() + make_interval(secs => ${p.claimSeconds})`,
      attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('storageDeletions')
        .select('id')
        .where('doneAt', 'is', null)
        .where('availableAt', '<=', sql<Date>`now()`)
        .where((w) => w.or([w('claimedUntil', 'is', null), w('claimedUntil', '<', sql<Date>`now()`)]))
        .orderBy('availableAt')
        .limit(p.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .returning(sql<Date>`now()`.as('passStartedAt'))
    .execute();
}

/**
 * Records one pass that emptied the prefix: done, or (when a writer may still
 * have been at work when it began) due again at `dueAgainAt`.
 */
export async function recordDeletionPass(
  db: Kysely<Database>,
  p: { id: string; objectsDeleted: number; done: boolean; dueAgainAt: Date },
): Promise<void> {
  await db
    .updateTable('storageDeletions')
    .set((eb) => ({
      objectsDeleted: eb('objectsDeleted', '+', p.objectsDeleted),
      claimedUntil: null,
      lastError: null,
      ...(p.done ? { doneAt: sql<Date>`now()` } : { availableAt: p.dueAgainAt }),
    }))
    .where('id', '=', p.id)
    .execute();
}

/** Records a failed pass: due again after `retryInSeconds`; what it deleted still counts. */
export async function recordDeletionFailure(
  db: Kysely<Database>,
  p: { id: string; objectsDeleted: number; error: string; retryInSeconds: number },
): Promise<void> {
  await db
    .updateTable('storageDeletions')
    .set((eb) => ({
      objectsDeleted: eb('objectsDeleted', '+', p.objectsDeleted),
      claimedUntil: null,
      lastError: p.error,
      availableAt: sql<Date>`now() + make_interval(secs => ${p.retryInSeconds})`,
    }))
    .where('id', '=', p.id)
    .execute();
}

/** Deletions not yet done, oldest first (for tests and operators). */
export async function listPendingDeletions(db: Kysely<Database>): Promise<StorageDeletion[]> {
  return db.selectFrom('storageDeletions').selectAll().where('doneAt', 'is', null).orderBy('requestedAt').execute();
}

/** Whose a session is, deleted or not (unscoped: for the sweeper carrying out a recorded deletion). */
export async function findSessionOwner(db: Kysely<Database>, p: { sessionId: string }): Promise<Owner | undefined> {
  const row = await db
    .selectFrom('videoSessions')
    .select(['ownerType', 'ownerId'])
    .where('id', '=', p.sessionId)
    .executeTakeFirst();
  return row ? { type: row.ownerType, id: row.ownerId } : undefined;
}
