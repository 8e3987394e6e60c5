import { sql, type Kysely } from 'kysely';

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
  s3Bucket: string;
  s3Key: string;
  contentType: string;
  declaredSizeBytes: number | null;
  uploadExpiresAt: Date;
  /** Set for a multipart upload: its S3 upload id and part plan. */
  multipart: { uploadId: string; partSizeBytes: number; partCount: number } | null;
}

/**
 * Inserts an `awaiting_upload` job only if the session exists and belongs to
 * `owner`, in one round trip. Undefined means no such session for this owner.
 */
export async function insertJobForOwnedSession(
  db: Kysely<Database>,
  params: InsertJobParams,
): Promise<VideoAnalysisJob | undefined> {
  return db
    .insertInto('videoAnalysisJobs')
    .columns([
      'id',
      'sessionId',
      'ownerType',
      'ownerId',
      'createdBy',
      'videoId',
      'status',
      'sampleFps',
      'includeFrames',
      's3Bucket',
      's3Key',
      'contentType',
      'declaredSizeBytes',
      'uploadExpiresAt',
      'uploadMode',
      'multipartUploadId',
      'partSizeBytes',
      'partCount',
    ])
    .expression((eb) =>
      eb
        .selectFrom('videoSessions')
        .select([
          eb.val(params.id).as('id'),
          'videoSessions.id as sessionId',
          'videoSessions.ownerType',
          'videoSessions.ownerId',
          eb.val(params.createdBy).as('createdBy'),
          eb.val(params.videoId).as('videoId'),
          eb.val<JobStatus>('awaiting_upload').as('status'),
          eb.val(params.sampleFps).as('sampleFps'),
          eb.val(params.includeFrames).as('includeFrames'),
          eb.val(params.s3Bucket).as('s3Bucket'),
          eb.val(params.s3Key).as('s3Key'),
          eb.val(params.contentType).as('contentType'),
          eb.val(params.declaredSizeBytes).as('declaredSizeBytes'),
          eb.val(params.uploadExpiresAt).as('uploadExpiresAt'),
          eb.val(params.multipart ? 'multipart' : 'single').as('uploadMode'),
          eb.val(params.multipart?.uploadId ?? null).as('multipartUploadId'),
          eb.val(params.multipart?.partSizeBytes ?? null).as('partSizeBytes'),
          eb.val(params.multipart?.partCount ?? null).as('partCount'),
        ])
        .where('videoSessions.id', '=', params.sessionId)
        .where('videoSessions.ownerType', '=', params.owner.type)
        .where('videoSessions.ownerId', '=', params.owner.id),
    )
    .returningAll()
    .executeTakeFirst();
}

/** The job if it exists and belongs to `owner`; otherwise undefined, whichever the reason. */
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
    .executeTakeFirst();
}

export async function findJob(
  db: Kysely<Database>,
  params: { jobId: string },
): Promise<VideoAnalysisJob | undefined> {
  return db.selectFrom('videoAnalysisJobs').selectAll().where('id', '=', params.jobId).executeTakeFirst();
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
    .where('ownerId', '=', params.owner.id);
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
