import { sql, type Kysely } from 'kysely';

import { preparedMarker } from '../prepared-statements.ts';
import type { Database, JobStatus, VideoAnalysisJob, VideoAnalysisJobUpdate } from '../schema.ts';
import { isAfterCursor, type Owner, type PageCursor } from './owner.ts';

export interface InsertJobParams {
  id: string;
  sessionId: string;
  owner: Owner;
  createdBy: string;
  videoId: string;
  sampleFps: number;
  includeFrames: boolean;
  /** Where the coach tapped the player on the first frame, 0..1; null when not given. */
  subjectHint: { x: number; y: number } | null;
  s3Bucket: string;
  s3Key: string;
  contentType: string;
  declaredSizeBytes: number | null;
  /**
   * What initiate reserves of the owner's quota: the declared size, or, for an upload that
   * declared none (the first version's API), the most it may store (`MAX_UPLOAD_BYTES`).
   * Defaults to the declared size.
   */
  reservedBytes?: number;
  uploadExpiresAt: Date;
  /** Set for a multipart upload: its S3 upload id and part plan. */
  multipart: { uploadId: string; partSizeBytes: number; partCount: number } | null;
  /** The caller's idempotency key, unique per `createdBy`; null when none was given. */
  clientRequestId: string | null;
}

const INSERT_JOB_STATEMENT = sql.raw(preparedMarker('insert_job_for_owned_session'));

/**
 * Inserts an `awaiting_upload` job only if the session exists and belongs to
 * `owner`, in one round trip. Undefined means no such session for this owner.
 *
 * Written as one SQL template rather than with the query builder: this is the
 * write behind every upload.initiate, and building it (18 columns through the
 * CamelCase plugin) cost ~30 µs a call against ~5 µs for the template. It
 * answers only the status: the caller chose every other column.
 *
 * Sent as a named prepared statement (see prepared-statements.ts): planning
 * it cost Postgres more than running it.
 *
 * A `clientRequestId` this user already used inserts nothing either (the
 * unique index settles concurrent inserts): the caller tells the two apart by
 * looking the key up with `findJobByClientRequestId`.
 */
export async function insertJobForOwnedSession(
  db: Kysely<Database>,
  params: InsertJobParams,
): Promise<Pick<VideoAnalysisJob, 'status'> | undefined> {
  const { multipart } = params;
  const status: JobStatus = 'awaiting_upload';
  const { rows } = await sql<Pick<VideoAnalysisJob, 'status'>>`${INSERT_JOB_STATEMENT}
    insert into video_analysis_jobs
      (id, session_id, owner_type, owner_id, created_by, video_id, status, sample_fps, include_frames,
       s3_bucket, s3_key, content_type, declared_size_bytes, upload_expires_at,
       upload_mode, multipart_upload_id, part_size_bytes, part_count, client_request_id,
       subject_hint_x, subject_hint_y)
    select ${params.id}, s.id, s.owner_type, s.owner_id, ${params.createdBy}, ${params.videoId}, ${status},
      ${params.sampleFps}, ${params.includeFrames}, ${params.s3Bucket}, ${params.s3Key}, ${params.contentType},
      ${params.declaredSizeBytes}, ${params.uploadExpiresAt},
      ${multipart ? 'multipart' : 'single'}, ${multipart?.uploadId ?? null}, ${multipart?.partSizeBytes ?? null},
      ${multipart?.partCount ?? null}, ${params.clientRequestId},
      ${params.subjectHint?.x ?? null}::float8, ${params.subjectHint?.y ?? null}::float8
    from video_sessions s
    where s.id = ${params.sessionId} and s.owner_type = ${params.owner.type} and s.owner_id = ${params.owner.id} and s.deleted_at is null
    on conflict (created_by, client_request_id) where client_request_id is not null do nothing
    returning status`.execute(db);
  return rows[0];
}

/**
 * The job this user created with this idempotency key, if any. Keys are per
 * user, so another user's job is never found.
 */
export async function findJobByClientRequestId(
  db: Kysely<Database>,
  params: { userId: string; clientRequestId: string },
): Promise<VideoAnalysisJob | undefined> {
  return db
    .selectFrom('videoAnalysisJobs')
    .selectAll()
    .where('createdBy', '=', params.userId)
    .where('clientRequestId', '=', params.clientRequestId)
    .executeTakeFirst();
}

/** The job if it exists, belongs to `owner` and is not deleted; otherwise undefined, whichever the reason. */
export async function findOwnedJob(
  db: Kysely<Database>,
  params: { jobId: string; owner: Owner },
): Promise<VideoAnalysisJob | undefined> {
  return db
    .selectFrom('videoAnalysisJobs')
    .selectAll()
    .where('id', '=', params.jobId)
    .where('ownerType', '=', params.owner.type)
    .where('ownerId', '=', params.owner.id)
    .where('status', '!=', 'deleted')
    .executeTakeFirst();
}

export async function findJob(db: Kysely<Database>, params: { jobId: string }): Promise<VideoAnalysisJob | undefined> {
  return db.selectFrom('videoAnalysisJobs').selectAll().where('id', '=', params.jobId).executeTakeFirst();
}

/** The job whose upload is stored at `s3Key` (unique), for a storage notification naming only the key. */
export async function findJobByKey(db: Kysely<Database>, params: { s3Key: string }): Promise<VideoAnalysisJob | undefined> {
  return db.selectFrom('videoAnalysisJobs').selectAll().where('s3Key', '=', params.s3Key).executeTakeFirst();
}

/** Jobs of one owned session, newest first, one extra row to detect a next page. */
export async function listOwnedJobs(
  db: Kysely<Database>,
  params: { sessionId: string; owner: Owner; limit: number; after?: PageCursor },
): Promise<VideoAnalysisJob[]> {
  const { after } = params;
  let query = db
    .selectFrom('videoAnalysisJobs')
    .selectAll()
    .where('sessionId', '=', params.sessionId)
    .where('ownerType', '=', params.owner.type)
    .where('ownerId', '=', params.owner.id)
    .where('status', '!=', 'deleted');
  if (after) query = query.where(isAfterCursor(after));
  return query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(params.limit + 1)
    .execute();
}

/**
 * Moves a job to `to` only if it is currently in one of `from`: the single
 * way job status changes, so concurrent writers can never skip a state.
 * Undefined means the job was not in an allowed state (or does not exist).
 */
export async function transitionJob(
  db: Kysely<Database>,
  params: {
    jobId: string;
    from: readonly JobStatus[];
    to: JobStatus;
    set?: Omit<VideoAnalysisJobUpdate, 'status' | 'id' | 'updatedAt'>;
  },
): Promise<VideoAnalysisJob | undefined> {
  return db
    .updateTable('videoAnalysisJobs')
    .set({ ...params.set, status: params.to, updatedAt: sql<Date>`now()` })
    .where('id', '=', params.jobId)
    .where('status', 'in', params.from)
    .returningAll()
    .executeTakeFirst();
}

/** The statuses a job waits in; each has a partial index, so counting them stays cheap however many jobs ended. */
const OPEN_JOB_STATUSES = ['awaiting_upload', 'queued', 'processing'] as const;

/** How many jobs are in each open status now (0 for a status with none). */
export async function countOpenJobsByStatus(db: Kysely<Database>): Promise<Record<(typeof OPEN_JOB_STATUSES)[number], number>> {
  // One count per status, so each uses its partial index rather than a scan of every job.
  const [awaitingUpload, queued, processing] = await Promise.all(
    OPEN_JOB_STATUSES.map(async (status) => {
      const { count } = await db
        .selectFrom('videoAnalysisJobs')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('status', '=', status)
        .executeTakeFirstOrThrow();
      return Number(count);
    }),
  );
  return { awaiting_upload: awaitingUpload ?? 0, queued: queued ?? 0, processing: processing ?? 0 };
}
