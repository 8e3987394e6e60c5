import { sql, type Kysely } from 'kysely';

const STATUSES_BEFORE = `'awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'rejected', 'expired', 'aborted'`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // A deleted job stays as a tombstone (its key and owner locate what storage still holds) in a status of its own.
  await sql`alter table video_analysis_jobs drop constraint video_analysis_jobs_status_check`.execute(db);
  await sql
    .raw(
      `alter table video_analysis_jobs add constraint video_analysis_jobs_status_check check (status in (${STATUSES_BEFORE}, 'deleted'))`,
    )
    .execute(db);
  await db.schema.alterTable('video_analysis_jobs').addColumn('deleted_at', 'timestamptz').execute();
  await db.schema.alterTable('video_sessions').addColumn('deleted_at', 'timestamptz').execute();
  // Erasure finds an owner's sessions listing a player without reading every session.
  await sql`create index video_sessions_owner_players on video_sessions using gin (player_ids) where deleted_at is null`.execute(
    db,
  );

  // What storage must still lose: written in the transaction that deletes the rows, carried out by the sweeper.
  await db.schema
    .createTable('storage_deletions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('job_id', 'uuid', (c) => c.references('video_analysis_jobs.id'))
    .addColumn('session_id', 'uuid', (c) => c.references('video_sessions.id'))
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('everything')`))
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('multipart_upload_id', 'text')
    .addColumn('repeat_until', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('available_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('objects_deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('done_at', 'timestamptz')
    .addCheckConstraint('storage_deletions_one_target', sql`(job_id is null) <> (session_id is null)`)
    .execute();
  await sql`create unique index storage_deletions_job on storage_deletions (job_id, scope) where job_id is not null`.execute(db);
  await sql`create unique index storage_deletions_session on storage_deletions (session_id, scope) where session_id is not null`.execute(
    db,
  );
  await sql`create index storage_deletions_due on storage_deletions (available_at) where done_at is null`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('storage_deletions').execute();
  await db.schema.dropIndex('video_sessions_owner_players').execute();
  await db.schema.alterTable('video_sessions').dropColumn('deleted_at').execute();
  await db.schema.alterTable('video_analysis_jobs').dropColumn('deleted_at').execute();
  await sql`alter table video_analysis_jobs drop constraint video_analysis_jobs_status_check`.execute(db);
  await sql
    .raw(`alter table video_analysis_jobs add constraint video_analysis_jobs_status_check check (status in (${STATUSES_BEFORE}))`)
    .execute(db);
}
