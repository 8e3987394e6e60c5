import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // An upload that closed without a video (aborted, rejected, expired) keeps its signed URLs valid until they
  // expire: while `key_writable_until` is set, the sweeper removes whatever reaches the key.
  await db.schema
    .alterTable('video_analysis_jobs')
    .addColumn('key_writable_until', 'timestamptz')
    .addColumn('key_checked_at', 'timestamptz')
    .execute();
  // The sweeper's one query: watched keys, least recently checked first.
  await sql`create index video_analysis_jobs_key_watch
    on video_analysis_jobs (key_checked_at asc nulls first)
    where key_writable_until is not null`.execute(db);
  // Jobs closed before this migration: each is checked once (an object stored after it closed is removed) and released.
  await sql`update video_analysis_jobs
    set key_writable_until = case when multipart_upload_id is null then upload_expires_at
                                  else coalesce(finished_at, updated_at) end
    where status in ('aborted', 'rejected', 'expired')`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('video_analysis_jobs_key_watch').execute();
  await db.schema.alterTable('video_analysis_jobs').dropColumn('key_writable_until').dropColumn('key_checked_at').execute();
}
