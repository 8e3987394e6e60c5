import { sql, type Kysely } from 'kysely';

/** The bounds of a retention window in days (also `RETENTION_DAY_BOUNDS` in `@coach/jobs`, which checks them first). */
const MIN_DAYS = 1;
const MAX_DAYS = 3650;

/**
 * Retention (packages/jobs/src/deletion/RETENTION.md): an owner's own policy,
 * when a job's original was removed, and the `original` deletion scope.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  const days = (column: string) => sql.raw(`${column} is null or ${column} between ${MIN_DAYS} and ${MAX_DAYS}`);
  // A row replaces the configured defaults as a whole; a null value keeps for ever.
  await db.schema
    .createTable('retention_policies')
    .addColumn('owner_type', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('delete_originals_after_days', 'integer', (c) => c.check(days('delete_originals_after_days')))
    .addColumn('delete_everything_after_days', 'integer', (c) => c.check(days('delete_everything_after_days')))
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('retention_policies_pkey', ['owner_type', 'owner_id'])
    .addCheckConstraint(
      'retention_policies_originals_before_everything',
      sql`delete_originals_after_days is null or delete_everything_after_days is null
        or delete_originals_after_days < delete_everything_after_days`,
    )
    .execute();

  // Set in the transaction that records the original's removal; the job keeps its analysis.
  await db.schema.alterTable('video_analysis_jobs').addColumn('original_removed_at', 'timestamptz').execute();

  await sql`alter table storage_deletions drop constraint storage_deletions_scope_check`.execute(db);
  await sql`alter table storage_deletions add constraint storage_deletions_scope_check check (scope in ('everything', 'original'))`.execute(
    db,
  );

  // The sweeper's candidates by the age retention counts (from the upload's completion): every owner's,
  // oldest first, for the defaults; one owner's, for an owner with a policy of its own.
  await sql`create index video_analysis_jobs_retention_originals on video_analysis_jobs ((coalesce(queued_at, created_at)))
    where status in ('completed', 'failed') and original_removed_at is null`.execute(db);
  await sql`create index video_analysis_jobs_retention_everything on video_analysis_jobs ((coalesce(queued_at, created_at)))
    where status in ('completed', 'failed', 'rejected', 'expired', 'aborted')`.execute(db);
  await sql`create index video_analysis_jobs_retention_owner
    on video_analysis_jobs (owner_type, owner_id, (coalesce(queued_at, created_at)))
    where status in ('completed', 'failed', 'rejected', 'expired', 'aborted')`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('video_analysis_jobs_retention_owner').execute();
  await db.schema.dropIndex('video_analysis_jobs_retention_everything').execute();
  await db.schema.dropIndex('video_analysis_jobs_retention_originals').execute();
  await sql`delete from storage_deletions where scope = 'original'`.execute(db);
  await sql`alter table storage_deletions drop constraint storage_deletions_scope_check`.execute(db);
  await sql`alter table storage_deletions add constraint storage_deletions_scope_check check (scope in ('everything'))`.execute(
    db,
  );
  await db.schema.alterTable('video_analysis_jobs').dropColumn('original_removed_at').execute();
  await db.schema.dropTable('retention_policies').execute();
}
