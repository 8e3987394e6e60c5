import { sql, type Kysely } from 'kysely';

import type { Database, OwnerType, RetentionPolicyRow } from '../schema.ts';
import type { Owner } from './owner.ts';

/** How long an owner's videos are kept, in days; null keeps for ever (packages/jobs/src/deletion/RETENTION.md). */
export interface RetentionPolicy {
  /** The original video is removed this many days after its upload completed; frames, metrics and the summary stay. */
  deleteOriginalsAfterDays: number | null;
  /** The whole video is deleted (as jobs.delete does) this many days after its upload completed. */
  deleteEverythingAfterDays: number | null;
}

/** The owner's own policy, if it chose one (else the configured defaults apply). */
export async function findRetentionPolicy(db: Kysely<Database>, owner: Owner): Promise<RetentionPolicyRow | undefined> {
  return db
    .selectFrom('retentionPolicies')
    .selectAll()
    .where('ownerType', '=', owner.type)
    .where('ownerId', '=', owner.id)
    .executeTakeFirst();
}

/** Stores the owner's own policy, replacing the defaults (and any earlier choice) as a whole. */
export async function upsertRetentionPolicy(
  db: Kysely<Database>,
  p: { owner: Owner; policy: RetentionPolicy; updatedBy: string },
): Promise<RetentionPolicyRow> {
  const values = {
    deleteOriginalsAfterDays: p.policy.deleteOriginalsAfterDays,
    deleteEverythingAfterDays: p.policy.deleteEverythingAfterDays,
    updatedBy: p.updatedBy,
    updatedAt: sql<Date>`now()`,
  };
  return db
    .insertInto('retentionPolicies')
    .values({ ownerType: p.owner.type, ownerId: p.owner.id, ...values })
    .onConflict((oc) => oc.columns(['ownerType', 'ownerId']).doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Forgets the owner's own policy: the configured defaults apply again. */
export async function deleteRetentionPolicy(db: Kysely<Database>, owner: Owner): Promise<void> {
  await db.deleteFrom('retentionPolicies').where('ownerType', '=', owner.type).where('ownerId', '=', owner.id).execute();
}

/** A job a retention rule selected, locked for the deciding transaction. */
export interface RetentionCandidate {
  id: string;
  ownerType: OwnerType;
  ownerId: string;
  s3Key: string;
}

interface CandidateQuery {
  /** What applies to an owner without a policy of its own. */
  defaults: RetentionPolicy;
  limit: number;
}

/** No window is shorter than this: lets the index scan start at a constant bound. */
const SHORTEST_WINDOW_DAYS = 1;

/**
 * Terminal jobs past their owner's `deleteEverythingAfterDays` (its own, else
 * the default), oldest first, locked (`SKIP LOCKED`: another sweeper has the
 * rest). A job awaiting its upload, queued or being analysed is never one.
 */
export async function lockJobsPastEverything(db: Kysely<Database>, p: CandidateQuery): Promise<RetentionCandidate[]> {
  const { rows } = await sql<RetentionCandidate>`
    select j.id, j.owner_type, j.owner_id, j.s3_key
    from video_analysis_jobs j
    left join retention_policies p on p.owner_type = j.owner_type and p.owner_id = j.owner_id
    where j.status in ('completed', 'failed', 'rejected', 'expired', 'aborted')
      and coalesce(j.queued_at, j.created_at) <= now() - make_interval(days => ${SHORTEST_WINDOW_DAYS})
      and coalesce(j.queued_at, j.created_at) <= now() - make_interval(days =>
        case when p.owner_id is null then ${p.defaults.deleteEverythingAfterDays}::int
          else p.delete_everything_after_days end)
    order by coalesce(j.queued_at, j.created_at)
    limit ${p.limit}
    for update of j skip locked`.execute(db);
  return rows;
}

/**
 * `completed`/`failed` jobs still holding their original and past their
 * owner's `deleteOriginalsAfterDays`, oldest first, locked as above.
 */
export async function lockJobsPastOriginals(db: Kysely<Database>, p: CandidateQuery): Promise<RetentionCandidate[]> {
  const { rows } = await sql<RetentionCandidate>`
    select j.id, j.owner_type, j.owner_id, j.s3_key
    from video_analysis_jobs j
    left join retention_policies p on p.owner_type = j.owner_type and p.owner_id = j.owner_id
    where j.status in ('completed', 'failed') and j.original_removed_at is null
      and coalesce(j.queued_at, j.created_at) <= now() - make_interval(days => ${SHORTEST_WINDOW_DAYS})
      and coalesce(j.queued_at, j.created_at) <= now() - make_interval(days =>
        case when p.owner_id is null then ${p.defaults.deleteOriginalsAfterDays}::int
          else p.delete_originals_after_days end)
    order by coalesce(j.queued_at, j.created_at)
    limit ${p.limit}
    for update of j skip locked`.execute(db);
  return rows;
}

/** Records that these jobs' originals are being removed; only jobs not marked yet. Returns those it marked. */
export async function markOriginalsRemoved(
  db: Kysely<Database>,
  p: { jobIds: readonly string[] },
): Promise<Pick<RetentionCandidate, 'id' | 's3Key'>[]> {
  if (p.jobIds.length === 0) return [];
  return db
    .updateTable('videoAnalysisJobs')
    .set({ originalRemovedAt: sql<Date>`now()`, updatedAt: sql<Date>`now()` })
    .where('id', 'in', [...p.jobIds])
    .where('originalRemovedAt', 'is', null)
    .where('status', 'in', ['completed', 'failed'])
    .returning(['id', 's3Key'])
    .execute();
}
