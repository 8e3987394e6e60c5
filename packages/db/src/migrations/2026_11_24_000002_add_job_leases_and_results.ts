import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('video_analysis_jobs')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_token', 'uuid')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'timestamptz')
    .addColumn('progress_percent', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`progress_percent between 0 and 100`),
    )
    .addColumn('frames_total', 'integer')
    .addColumn('frames_done', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('result', 'jsonb')
    .execute();
  await db.schema
    .createIndex('video_analysis_jobs_leases')
    .on('video_analysis_jobs')
    .columns(['lease_expires_at'])
    .where(sql.ref('status'), '=', 'processing')
    .execute();
  await db.schema
    .createIndex('video_analysis_jobs_queued')
    .on('video_analysis_jobs')
    .columns(['queued_at'])
    .where(sql.ref('status'), '=', 'queued')
    .execute();

  // Every status or progress change is announced, so API processes can push
  // it to jobs.watch subscribers whichever process made the change.
  await sql`
    create function notify_job_event() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT'
         or new.status is distinct from old.status
         or new.progress_percent is distinct from old.progress_percent then
        perform pg_notify('job_events', new.id::text);
      end if;
      return new;
    end
    $$`.execute(db);
  await sql`
    create trigger video_analysis_jobs_notify
    after insert or update on video_analysis_jobs
    for each row execute function notify_job_event()`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists video_analysis_jobs_notify on video_analysis_jobs`.execute(db);
  await sql`drop function if exists notify_job_event()`.execute(db);
  await db.schema.dropIndex('video_analysis_jobs_queued').execute();
  await db.schema.dropIndex('video_analysis_jobs_leases').execute();
  await db.schema
    .alterTable('video_analysis_jobs')
    .dropColumn('attempts')
    .dropColumn('lease_token')
    .dropColumn('lease_owner')
    .dropColumn('lease_expires_at')
    .dropColumn('progress_percent')
    .dropColumn('frames_total')
    .dropColumn('frames_done')
    .dropColumn('result')
    .execute();
}
