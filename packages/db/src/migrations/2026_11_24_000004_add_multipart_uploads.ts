import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('video_analysis_jobs')
    .addColumn('upload_mode', 'text', (c) =>
      c
        .notNull()
        .defaultTo('single')
        .check(sql`upload_mode in ('single', 'multipart')`),
    )
    .addColumn('multipart_upload_id', 'text')
    .addColumn('part_size_bytes', 'bigint')
    .addColumn('part_count', 'integer')
    .execute();
  // A new terminal status: the uploader gave up (upload.abort).
  await sql`alter table video_analysis_jobs drop constraint video_analysis_jobs_status_check`.execute(db);
  await sql`alter table video_analysis_jobs add constraint video_analysis_jobs_status_check check (status in ('awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'rejected', 'expired', 'aborted'))`.execute(
    db,
  );

  await db.schema
    .createTable('upload_parts')
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('video_analysis_jobs.id').onDelete('cascade'))
    .addColumn('part_number', 'integer', (c) => c.notNull().check(sql`part_number between 1 and 10000`))
    .addColumn('etag', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('upload_parts_pk', ['job_id', 'part_number'])
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('upload_parts').execute();
  await sql`alter table video_analysis_jobs drop constraint video_analysis_jobs_status_check`.execute(db);
  await sql`alter table video_analysis_jobs add constraint video_analysis_jobs_status_check check (status in ('awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'rejected', 'expired'))`.execute(
    db,
  );
  await db.schema
    .alterTable('video_analysis_jobs')
    .dropColumn('upload_mode')
    .dropColumn('multipart_upload_id')
    .dropColumn('part_size_bytes')
    .dropColumn('part_count')
    .execute();
}
