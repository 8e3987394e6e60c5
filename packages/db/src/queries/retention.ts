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

/** Which retention rule candidates are selected for. */
export type RetentionRule = 'originals' | 'everything';

const RULES = {
  // A job awaiting its upload, queued or being analysed is never a candidate: its original is in use.
  originals: {
    jobs: sql`j.status in ('completed', 'failed') and j.original_removed_at is null`,
    days: sql.ref('p.delete_originals_after_days'),
  },
  everything: {
    jobs: sql`j.status in ('completed', 'failed', 'rejected', 'expired', 'aborted')`,
    days: sql.ref('p.delete_everything_after_days'),
  },
} as const;

/**
 * Up to `limit` finished jobs past their owner's window for `rule`, oldest
 * first per owner, locked (`SKIP LOCKED`: another sweeper has the rest). Two
 * index scans, so owners who keep for ever cost nothing: owners with a policy
 * of their own, from their rows (`video_analysis_jobs_retention_owner`), then,
 * when the rule has a default, every other owner's jobs by age
 * (`video_analysis_jobs_retention_<rule>`).
 */
export async function lockRetentionCandidates(
  db: Kysely<Database>,
  p: { rule: RetentionRule; defaults: RetentionPolicy; limit: number },
): Promise<RetentionCandidate[]> {
  const rule = RULES[p.rule];
  const age = sql`coalesce(j.queued_at, j.created_at)`;
  const { rows: own } = await sql<RetentionCandidate>`
    select c.id, c.owner_type, c.owner_id, c.s3_key
    from retention_policies p
    cross join lateral (
      select j.id, j.owner_type, j.owner_id, j.s3_key
      from video_analysis_jobs j
      where j.owner_type = p.owner_type and j.owner_id = p.owner_id and ${rule.jobs}
        and ${age} <= now() - make_interval(days => ${rule.days})
      order by ${age}
      limit ${p.limit}
      for update of j skip locked
    ) c
    where ${rule.days} is not null
    limit ${p.limit}`.execute(db);
  const defaultDays = p.rule === 'originals' ? p.defaults.deleteOriginalsAfterDays : p.defaults.deleteEverythingAfterDays;
  const room = p.limit - own.length;
  if (defaultDays === null || room <= 0) return own;
  const { rows: byDefault } = await sql<RetentionCandidate>`
    select j.id, j.owner_type, j.owner_id, j.s3_key
    from video_analysis_jobs j
    where ${rule.jobs}
      and ${age} <= now() - make_interval(days => ${defaultDays}::int)
      and not exists (select 1 from retention_policies p where p.owner_type = j.owner_type and p.owner_id = j.owner_id)
    order by ${age}
    limit ${room}
    for update of j skip locked`.execute(db);
  return [...own, ...byDefault];
}

/** Records that these jobs' originals are being removed; only jobs not marked yet. Returns those it marked. */
export async function markOriginalsRemoved(
  db: Kysely<Database>,
  p: { jobIds: readonly string[] },
): Promise<(RetentionCandidate & { sessionId: string; uploadExpiresAt: Date })[]> {
  if (p.jobIds.length === 0) return [];
  return db
    .updateTable('videoAnalysisJobs')
    .set({ originalRemovedAt: sql<Date>`now()`, updatedAt: sql<Date>`now()` })
    .where('id', 'in', [...p.jobIds])
    .where('originalRemovedAt', 'is', null)
    .where('status', 'in', ['completed', 'failed'])
    .returning(['id', 'ownerType', 'ownerId', 'sessionId', 's3Key', 'uploadExpiresAt'])
    .execute();
}
