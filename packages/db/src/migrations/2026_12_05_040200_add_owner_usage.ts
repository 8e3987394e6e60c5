import { sql, type Kysely } from 'kysely';

/**
 * Bytes and open uploads per owner, kept as counters so that `upload.initiate`
 * checks and reserves in one conditional UPDATE of one row instead of counting
 * jobs under an advisory lock.
 *
 * Initiate reserves the declared size and an open-upload slot in the statement
 * that inserts the job. Leaving `awaiting_upload` gives both back, whatever
 * makes the move (upload.complete, upload.abort, the upload-events consumer, the
 * sweeper, a future deletion): the trigger below runs on every such status
 * change, so no writer can forget it or do it twice. A job that reaches
 * `queued` adds its stored size (`size_bytes`, the HEAD's) to `used_bytes`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('owner_usage')
    .addColumn('owner_type', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    // Stored originals of jobs that reached `queued` (and have not been released since).
    .addColumn('used_bytes', 'int8', (c) => c.notNull().defaultTo(0))
    // Declared sizes of uploads still `awaiting_upload`.
    .addColumn('reserved_bytes', 'int8', (c) => c.notNull().defaultTo(0))
    .addColumn('open_uploads', 'integer', (c) => c.notNull().defaultTo(0))
    // This owner's quota when it differs from the configured default (0: no limit).
    .addColumn('quota_bytes', 'int8', (c) => c.check(sql`quota_bytes >= 0`))
    .addPrimaryKeyConstraint('owner_usage_pkey', ['owner_type', 'owner_id'])
    .execute();

  // When a job's stored bytes stopped counting (deleted, or its original removed): a release happens once.
  await db.schema.alterTable('video_analysis_jobs').addColumn('usage_released_at', 'timestamptz').execute();
  // What the job's initiate reserved: its declared size, or the most an upload that declared none may store.
  await db.schema.alterTable('video_analysis_jobs').addColumn('reserved_bytes', 'int8').execute();

  await sql`
    create function release_upload_reservation() returns trigger language plpgsql as $$
    begin
      update owner_usage
      set reserved_bytes = reserved_bytes - coalesce(old.reserved_bytes, old.declared_size_bytes, 0),
          open_uploads = open_uploads - 1,
          used_bytes = used_bytes + case when new.status = 'queued' then coalesce(new.size_bytes, 0) else 0 end
      where owner_type = old.owner_type and owner_id = old.owner_id;
      return null;
    end
    $$`.execute(db);
  await sql`
    create trigger video_analysis_jobs_release_upload_reservation
    after update of status on video_analysis_jobs
    for each row
    when (old.status = 'awaiting_upload' and new.status <> 'awaiting_upload')
    execute function release_upload_reservation()`.execute(db);

  // Backfill: every owner with a session, with what its jobs hold today.
  await sql`
    insert into owner_usage (owner_type, owner_id, used_bytes, reserved_bytes, open_uploads)
    select o.owner_type, o.owner_id,
      coalesce(sum(coalesce(j.size_bytes, j.declared_size_bytes, 0))
        filter (where j.status in ('queued', 'processing', 'completed', 'failed')), 0),
      coalesce(sum(coalesce(j.declared_size_bytes, 0)) filter (where j.status = 'awaiting_upload'), 0),
      count(j.id) filter (where j.status = 'awaiting_upload')
    from (select distinct owner_type, owner_id from video_sessions) o
    left join video_analysis_jobs j on j.owner_type = o.owner_type and j.owner_id = o.owner_id
    group by o.owner_type, o.owner_id`.execute(db);
  // Jobs queued before sizes were recorded count their declared size (Content-Length was signed, so they match).
  await sql`
    update video_analysis_jobs set size_bytes = declared_size_bytes
    where size_bytes is null and status in ('queued', 'processing', 'completed', 'failed')`.execute(db);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists video_analysis_jobs_release_upload_reservation on video_analysis_jobs`.execute(db);
  await sql`drop function if exists release_upload_reservation()`.execute(db);
  await db.schema.alterTable('video_analysis_jobs').dropColumn('usage_released_at').dropColumn('reserved_bytes').execute();
  await db.schema.dropTable('owner_usage').execute();
}
