import { sql, type Kysely } from 'kysely';

import { preparedMarker } from '../prepared-statements.ts';
import type { Database } from '../schema.ts';
import type { Owner } from './owner.ts';

// Both run on every rate-limited initiate: prepared once per connection (see prepared-statements.ts).
const LOCK_STATEMENT = sql.raw(preparedMarker('lock_upload_quota'));
const COUNT_STATEMENT = sql.raw(preparedMarker('count_upload_usage'));

/**
 * Serialises the limit checks and the insert of initiates across every API
 * process, for the rest of the caller's transaction: per owner (open uploads
 * are counted per coach or org, and an org has many staff) and per user (the
 * rate). Always owner first, then user, so two callers never wait on each other
 * in opposite orders.
 */
export async function lockUploadQuota(db: Kysely<Database>, params: { userId: string; owner: Owner }): Promise<void> {
  const ownerKey = `upload-quota-owner:${params.owner.type}:${params.owner.id}`;
  const userKey = `upload-quota-user:${params.userId}`;
  await sql`${LOCK_STATEMENT} select pg_advisory_xact_lock(hashtextextended(${ownerKey}, 0)), pg_advisory_xact_lock(hashtextextended(${userKey}, 0))`.execute(
    db,
  );
}

export interface UploadUsage {
  /** Jobs this user created in the last `windowSeconds`. */
  recent: number;
  /** Seconds until the oldest of those leaves the window. */
  oldestAgeSeconds: number | null;
  /** Uploads of the owner still waiting for their file. */
  open: number;
}

/** Both counts in one round trip; the caller holds both locks, so no insert can slip between them. */
export async function countUploadUsage(
  db: Kysely<Database>,
  params: { userId: string; owner: Owner; windowSeconds: number },
): Promise<UploadUsage> {
  const { rows } = await sql<{ recent: string; oldestAge: string | null; open: string }>`${COUNT_STATEMENT}
    select recent.recent, recent.oldest_age as "oldestAge", (
      select count(*) from video_analysis_jobs
      where owner_type = ${params.owner.type} and owner_id = ${params.owner.id}
        and status = 'awaiting_upload' and upload_expires_at > now()
    ) as open
    from (
      select count(*) as recent, extract(epoch from now() - min(created_at)) as oldest_age
      from video_analysis_jobs
      where created_by = ${params.userId} and created_at > now() - make_interval(secs => ${params.windowSeconds})
    ) as recent`.execute(db);
  const usage = rows[0];
  if (!usage) throw new Error('count_upload_usage answered no row');
  return {
    recent: Number(usage.recent),
    oldestAgeSeconds: usage.oldestAge === null ? null : Number(usage.oldestAge),
    open: Number(usage.open),
  };
}
