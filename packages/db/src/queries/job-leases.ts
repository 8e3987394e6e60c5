import { sql, type Kysely } from 'kysely';

import type { Database, JobStatus, VideoAnalysisJob, VideoAnalysisJobUpdate } from '../schema.ts';

/**
 * Claims a job for one worker: a job in one of `from` becomes `to` under a new
 * lease token, a `processing` one only once its lease lapsed. The caller (the
 * transition table in `@coach/jobs`) names the statuses. Undefined: not claimable.
 */
export async function claimLeasedJob(
  db: Kysely<Database>,
  p: {
    jobId: string;
    from: readonly JobStatus[];
    to: JobStatus;
    leaseToken: string;
    leaseOwner: string;
    leaseSeconds: number;
    messageId?: string;
  },
): Promise<VideoAnalysisJob | undefined> {
  return (
    db
      .updateTable('videoAnalysisJobs')
      .set({
        status: p.to,
        leaseToken: p.leaseToken,
        leaseOwner: p.leaseOwner,
        leaseMessageId: p.messageId ?? null,
        leaseExpiresAt: sql<Date>`now() + make_interval(secs => ${p.leaseSeconds})`,
        attempts: sql<number>`attempts + 1`,
        startedAt: sql<Date>`coalesce(started_at, now())`,
        updatedAt: sql<Date>`now()`,
      })
      .where('id', '=', p.jobId)
      .where('status', 'in', p.from)
      // A live lease is another worker's: only a lapsed one may be taken over.
      .where((eb) => eb.or([eb('status', '!=', 'processing'), eb('leaseExpiresAt', '<', sql<Date>`now()`)]))
      .returningAll()
      .executeTakeFirst()
  );
}

/** Pushes the lease out; false means the lease is no longer ours. */
export async function extendLease(
  db: Kysely<Database>,
  p: { jobId: string; leaseToken: string; leaseSeconds: number },
): Promise<boolean> {
  const row = await db
    .updateTable('videoAnalysisJobs')
    .set({ leaseExpiresAt: sql<Date>`now() + make_interval(secs => ${p.leaseSeconds})` })
    .where('id', '=', p.jobId)
    .where('leaseToken', '=', p.leaseToken)
    .where('status', '=', 'processing')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Writes a job this worker holds the lease of, optionally moving it out of
 * `processing` to `to` (which releases the lease; the transition table in
 * `@coach/jobs` names the statuses). Undefined means the lease was lost and
 * nothing was written.
 */
export async function updateLeasedJob(
  db: Kysely<Database>,
  p: {
    jobId: string;
    leaseToken: string;
    to?: JobStatus;
    set?: Omit<VideoAnalysisJobUpdate, 'id' | 'status' | 'leaseToken' | 'updatedAt'>;
    /** Only if the lease lapsed at least this long ago (a sweeper taking over a dead worker's job). */
    lapsedForSeconds?: number;
  },
): Promise<VideoAnalysisJob | undefined> {
  let query = db
    .updateTable('videoAnalysisJobs')
    .set({
      ...p.set,
      ...(p.to ? { status: p.to, leaseToken: null, leaseOwner: null, leaseExpiresAt: null, leaseMessageId: null } : {}),
      updatedAt: sql<Date>`now()`,
    })
    .where('id', '=', p.jobId)
    .where('leaseToken', '=', p.leaseToken)
    .where('status', '=', 'processing');
  if (p.lapsedForSeconds !== undefined) {
    // Re-checked in the write itself: the worker may have renewed the lease since it was read.
    query = query.where('leaseExpiresAt', '<', sql<Date>`now() - make_interval(secs => ${p.lapsedForSeconds})`);
  }
  return query.returningAll().executeTakeFirst();
}

/** Jobs in `status` whose `column` lies more than `seconds` in the past, oldest first. */
function findOverdueJobs(
  db: Kysely<Database>,
  p: { status: JobStatus; column: 'uploadExpiresAt' | 'leaseExpiresAt' | 'updatedAt'; seconds: number; limit: number },
): Promise<VideoAnalysisJob[]> {
  return db
    .selectFrom('videoAnalysisJobs')
    .selectAll()
    .where('status', '=', p.status)
    .where(p.column, '<', sql<Date>`now() - make_interval(secs => ${p.seconds})`)
    .orderBy(p.column)
    .limit(p.limit)
    .execute();
}

/**
 * Uploads idle past their window: `upload_expires_at` slides out with every
 * progress call (`extendUploadDeadline`), so a job here made no progress for
 * the idle window plus `graceSeconds` (or reached its maximum lifetime).
 */
export function findExpiredUploads(db: Kysely<Database>, p: { graceSeconds: number; limit: number }) {
  return findOverdueJobs(db, { status: 'awaiting_upload', column: 'uploadExpiresAt', seconds: p.graceSeconds, limit: p.limit });
}

/** `processing` jobs whose lease lapsed more than `graceSeconds` ago: their worker is gone. */
export function findAbandonedJobs(db: Kysely<Database>, p: { graceSeconds: number; limit: number }) {
  return findOverdueJobs(db, { status: 'processing', column: 'leaseExpiresAt', seconds: p.graceSeconds, limit: p.limit });
}

/** `queued` jobs untouched for `staleSeconds` whose message may have been lost. */
export function findStaleQueuedJobs(db: Kysely<Database>, p: { staleSeconds: number; limit: number }) {
  return findOverdueJobs(db, { status: 'queued', column: 'updatedAt', seconds: p.staleSeconds, limit: p.limit });
}

/**
 * Marks a `queued` job untouched for `staleSeconds` as handled now, so one
 * sweeper redispatches it; false when it is no longer queued or stale (staleness
 * is re-checked here: another sweeper may have just redispatched it).
 */
export async function touchStaleQueuedJob(db: Kysely<Database>, p: { jobId: string; staleSeconds: number }): Promise<boolean> {
  const row = await db
    .updateTable('videoAnalysisJobs')
    .set({ updatedAt: sql<Date>`now()` })
    .where('id', '=', p.jobId)
    .where('status', '=', 'queued')
    .where('updatedAt', '<', sql<Date>`now() - make_interval(secs => ${p.staleSeconds})`)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}
