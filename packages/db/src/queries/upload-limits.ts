import { sql, type Kysely } from 'kysely';

import type { Database } from '../schema.ts';
import type { Owner } from './owner.ts';

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
  await sql`select pg_advisory_xact_lock(hashtextextended(${ownerKey}, 0)), pg_advisory_xact_lock(hashtextextended(${userKey}, 0))`.execute(db);
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
  const usage = await db
    .selectFrom((eb) =>
      eb
        .selectFrom('videoAnalysisJobs')
        .select([
          eb.fn.countAll<string>().as('recent'),
          sql<number | null>`extract(epoch from now() - min(created_at))`.as('oldestAge'),
        ])
        .where('createdBy', '=', params.userId)
        .where('createdAt', '>', sql<Date>`now() - make_interval(secs => ${params.windowSeconds})`)
        .as('recent'),
    )
    .select((eb) => [
      'recent.recent',
      'recent.oldestAge',
      eb
        .selectFrom('videoAnalysisJobs')
        .select(eb.fn.countAll<string>().as('count'))
        .where('ownerType', '=', params.owner.type)
        .where('ownerId', '=', params.owner.id)
        .where('status', '=', 'awaiting_upload')
        .where('uploadExpiresAt', '>', sql<Date>`now()`)
        .as('open'),
    ])
    .executeTakeFirstOrThrow();
  return {
    recent: Number(usage.recent),
    oldestAgeSeconds: usage.oldestAge === null ? null : Number(usage.oldestAge),
    open: Number(usage.open),
  };
}
