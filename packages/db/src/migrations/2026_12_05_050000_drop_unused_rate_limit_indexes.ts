import { sql, type Kysely } from 'kysely';

/**
 * The per-user initiate rate and the per-owner open-upload count used to be
 * counted from the jobs table under an advisory lock; both indexes served those
 * counts. The rate is now an in-memory bucket and open uploads a counter on
 * `owner_usage` (`2026_12_05_040200_add_owner_usage`), so no query reads them and
 * every job insert and status change only paid to keep them.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists video_analysis_jobs_creator_recent`.execute(db);
  await sql`drop index if exists video_analysis_jobs_owner_open`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists video_analysis_jobs_creator_recent on video_analysis_jobs (created_by, created_at)`.execute(
    db,
  );
  await sql`create index if not exists video_analysis_jobs_owner_open on video_analysis_jobs (owner_type, owner_id)
    where status = 'awaiting_upload'`.execute(db);
}
