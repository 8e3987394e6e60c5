import { sql, type Kysely } from 'kysely';

import { preparedMarker } from '../prepared-statements.ts';
import type { Database, VideoAnalysisJob } from '../schema.ts';
import type { AuditActor } from './audit.ts';
import type { InsertJobParams } from './jobs.ts';
import type { Owner } from './owner.ts';

/** The owner limits initiate applies; 0 means no limit. */
export interface UploadLimits {
  /** The quota of an owner without one of its own (`owner_usage.quota_bytes` null). */
  defaultQuotaBytes: number;
  maxOpenUploads: number;
}

export interface OwnerUsage {
  usedBytes: number;
  reservedBytes: number;
  openUploads: number;
  /** The owner's quota (its own, else the default); 0: no limit. */
  quotaBytes: number;
}

const RESERVE_AND_INSERT_STATEMENT = sql.raw(preparedMarker('reserve_upload_and_insert_job'));

/**
 * Reserves the declared size and an open-upload slot on the owner's usage row
 * and inserts the `awaiting_upload` job, in one statement: the conditional
 * `UPDATE … WHERE used + reserved + size <= quota AND open < max` matches only
 * if both fit and the session belongs to `owner`, and the insert happens only
 * from the row it returns. Concurrent initiates of one owner queue on that
 * row's lock and each re-checks the row as the previous one left it, so they
 * can never reserve more than the quota together. The trigger
 * `release_upload_reservation` gives the reservation back when the job leaves
 * `awaiting_upload`. The job's `upload.initiated` audit entry (by `actor`) is
 * inserted by the same statement from the inserted row, so there is one
 * exactly when there is a job.
 *
 * Undefined: nothing written (over a limit, no usage row yet, or no such
 * session): `readOwnerUsage` and `ensureOwnerUsage` tell which. A
 * `clientRequestId` this user already used raises the unique violation
 * (23505) and, being one statement, reserves nothing either.
 *
 * Sent as a named prepared statement (see prepared-statements.ts); its text
 * never varies: a limit of 0 is a parameter too.
 */
export async function reserveUploadAndInsertJob(
  db: Kysely<Database>,
  params: { job: InsertJobParams; limits: UploadLimits; actor: AuditActor },
): Promise<Pick<VideoAnalysisJob, 'status'> | undefined> {
  const { job, limits, actor } = params;
  const { multipart } = job;
  const size = job.reservedBytes ?? job.declaredSizeBytes ?? 0;
  const { rows } = await sql<Pick<VideoAnalysisJob, 'status'>>`${RESERVE_AND_INSERT_STATEMENT}
    with reserved as (
      update owner_usage
      set reserved_bytes = reserved_bytes + ${size}::int8, open_uploads = open_uploads + 1
      where owner_type = ${job.owner.type} and owner_id = ${job.owner.id}
        and (coalesce(quota_bytes, ${limits.defaultQuotaBytes}::int8) = 0
          or used_bytes + reserved_bytes + ${size}::int8 <= coalesce(quota_bytes, ${limits.defaultQuotaBytes}::int8))
        and (${limits.maxOpenUploads}::int4 = 0 or open_uploads < ${limits.maxOpenUploads}::int4)
        and exists (
          select 1 from video_sessions s
          where s.id = ${job.sessionId} and s.owner_type = owner_usage.owner_type and s.owner_id = owner_usage.owner_id
            and s.deleted_at is null
        )
      returning owner_type, owner_id
    ),
    inserted as (
      insert into video_analysis_jobs
        (id, session_id, owner_type, owner_id, created_by, video_id, status, sample_fps, include_frames,
         s3_bucket, s3_key, content_type, declared_size_bytes, reserved_bytes, upload_expires_at,
         upload_mode, multipart_upload_id, part_size_bytes, part_count, client_request_id,
         subject_hint_x, subject_hint_y)
      select ${job.id}, ${job.sessionId}, r.owner_type, r.owner_id, ${job.createdBy}, ${job.videoId}, 'awaiting_upload',
        ${job.sampleFps}, ${job.includeFrames}, ${job.s3Bucket}, ${job.s3Key}, ${job.contentType},
        ${job.declaredSizeBytes}, ${size}::int8, ${job.uploadExpiresAt},
        ${multipart ? 'multipart' : 'single'}, ${multipart?.uploadId ?? null}, ${multipart?.partSizeBytes ?? null},
        ${multipart?.partCount ?? null}, ${job.clientRequestId},
        ${job.subjectHint?.x ?? null}::float8, ${job.subjectHint?.y ?? null}::float8
      from reserved r
      returning status, owner_type, owner_id, content_type, declared_size_bytes, upload_mode
    ),
    audited as (
      insert into audit_events (owner_type, owner_id, actor_kind, actor_id, action, target_type, target_id, session_id, details)
      select owner_type, owner_id, ${actor.kind}, ${actor.id}, 'upload.initiated', 'job', ${job.id}, ${job.sessionId},
        jsonb_build_object('contentType', content_type, 'declaredSizeBytes', declared_size_bytes, 'uploadMode', upload_mode)
      from inserted
    )
    select status from inserted`.execute(db);
  return rows[0];
}

/** Creates the owner's usage row if it has none (an owner new since the migration's backfill); true when it did. */
export async function ensureOwnerUsage(db: Kysely<Database>, owner: Owner): Promise<boolean> {
  const result = await db
    .insertInto('ownerUsage')
    .values({ ownerType: owner.type, ownerId: owner.id, quotaBytes: null })
    .onConflict((oc) => oc.columns(['ownerType', 'ownerId']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** What the owner uses, has reserved and may use; zeros (and the default quota) for an owner with no row yet. */
export async function readOwnerUsage(
  db: Kysely<Database>,
  params: { owner: Owner; defaultQuotaBytes: number },
): Promise<OwnerUsage> {
  const row = await db
    .selectFrom('ownerUsage')
    .select(['usedBytes', 'reservedBytes', 'openUploads', 'quotaBytes'])
    .where('ownerType', '=', params.owner.type)
    .where('ownerId', '=', params.owner.id)
    .executeTakeFirst();
  return {
    usedBytes: row?.usedBytes ?? 0,
    reservedBytes: row?.reservedBytes ?? 0,
    openUploads: row?.openUploads ?? 0,
    quotaBytes: row?.quotaBytes ?? params.defaultQuotaBytes,
  };
}

/** Sets (or, with null, removes) one owner's own quota. */
export async function setOwnerQuota(db: Kysely<Database>, params: { owner: Owner; quotaBytes: number | null }): Promise<void> {
  await db
    .insertInto('ownerUsage')
    .values({ ownerType: params.owner.type, ownerId: params.owner.id, quotaBytes: params.quotaBytes })
    .onConflict((oc) => oc.columns(['ownerType', 'ownerId']).doUpdateSet({ quotaBytes: params.quotaBytes }))
    .execute();
}

/**
 * Stops counting a job's stored original towards its owner's usage, once:
 * for deleting the job (or only its original). Marks the job
 * (`usage_released_at`) and lowers `used_bytes` in one statement, so a retried
 * deletion releases nothing twice. A job still awaiting its upload holds a
 * reservation instead, which moving it out of `awaiting_upload` (e.g. to
 * `aborted`) gives back; such a job, and one that never stored anything
 * (rejected, expired, aborted), releases nothing here. True when bytes were released.
 */
export async function releaseStoredUpload(db: Kysely<Database>, params: { jobId: string }): Promise<boolean> {
  const { rows } = await sql<{ released: string }>`
    with job as (
      update video_analysis_jobs
      set usage_released_at = now()
      where id = ${params.jobId} and usage_released_at is null
        and status in ('queued', 'processing', 'completed', 'failed') and size_bytes is not null
      returning owner_type, owner_id, size_bytes
    )
    update owner_usage u
    set used_bytes = u.used_bytes - job.size_bytes
    from job
    where u.owner_type = job.owner_type and u.owner_id = job.owner_id
    returning job.size_bytes as released`.execute(db);
  return rows.length > 0;
}
