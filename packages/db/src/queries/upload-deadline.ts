import { sql, type Kysely } from 'kysely';

import type { Database } from '../schema.ts';

/**
 * Pushes an open upload's deadline to the database's now + `idleSeconds`,
 * never earlier than it was and never past `created_at` + `maxLifetimeSeconds`.
 * Only a job still `awaiting_upload` whose deadline is ahead moves: a passed
 * deadline is never revived, since the sweeper may be expiring the job (and
 * computing its key watch) from it. Answers the new deadline, or undefined
 * when nothing moved.
 */
export async function extendUploadDeadline(
  db: Kysely<Database>,
  p: { jobId: string; idleSeconds: number; maxLifetimeSeconds: number },
): Promise<Date | undefined> {
  const row = await db
    .updateTable('videoAnalysisJobs')
    .set({
      uploadExpiresAt: sql<Date>`greatest(upload_expires_at, least(
        now() + make_interval(secs => ${p.idleSeconds}),
        created_at + make_interval(secs => ${p.maxLifetimeSeconds})))`,
      updatedAt: sql<Date>`now()`,
    })
    .where('id', '=', p.jobId)
    .where('status', '=', 'awaiting_upload')
    .where('uploadExpiresAt', '>', sql<Date>`now()`)
    .returning('uploadExpiresAt')
    .executeTakeFirst();
  return row?.uploadExpiresAt;
}
