import { sql, type Kysely } from 'kysely';

// Millisecond precision: page cursors carry a JS Date, which cannot hold microseconds.
const CREATED_AT_DEFAULT = sql`date_trunc('milliseconds', now())`;

// Migrations use Kysely<any>: they describe the schema at one point in time, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('video_sessions')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('owner_type', 'text', (c) => c.notNull().check(sql`owner_type in ('coach', 'org')`))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('player_ids', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(CREATED_AT_DEFAULT))
    .execute();
  await db.schema
    .createIndex('video_sessions_owner_page')
    .on('video_sessions')
    .columns(['owner_type', 'owner_id', 'created_at desc', 'id desc'])
    .execute();

  await db.schema
    .createTable('video_analysis_jobs')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('session_id', 'uuid', (c) => c.notNull().references('video_sessions.id'))
    .addColumn('owner_type', 'text', (c) => c.notNull())
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('video_id', 'uuid', (c) => c.notNull().unique())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'rejected', 'expired')`),
    )
    .addColumn('sample_fps', 'integer', (c) => c.notNull().check(sql`sample_fps between 1 and 30`))
    .addColumn('include_frames', 'boolean', (c) => c.notNull())
    .addColumn('s3_bucket', 'text', (c) => c.notNull())
    .addColumn('s3_key', 'text', (c) => c.notNull().unique())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('declared_size_bytes', 'bigint')
    .addColumn('size_bytes', 'bigint')
    .addColumn('etag', 'text')
    .addColumn('upload_expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sqs_message_id', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(CREATED_AT_DEFAULT))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('queued_at', 'timestamptz')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema
    .createIndex('video_analysis_jobs_session_page')
    .on('video_analysis_jobs')
    .columns(['session_id', 'created_at desc', 'id desc'])
    .execute();
  await db.schema
    .createIndex('video_analysis_jobs_open_uploads')
    .on('video_analysis_jobs')
    .columns(['upload_expires_at'])
    .where(sql.ref('status'), '=', 'awaiting_upload')
    .execute();

  await db.schema
    .createTable('outbox_messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('job_id', 'uuid', (c) => c.notNull().references('video_analysis_jobs.id'))
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(CREATED_AT_DEFAULT))
    .addColumn('available_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('sent_at', 'timestamptz')
    .addColumn('message_id', 'text')
    .execute();
  await db.schema
    .createIndex('outbox_messages_pending')
    .on('outbox_messages')
    .columns(['available_at', 'id'])
    .where(sql.ref('sent_at'), 'is', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('outbox_messages').execute();
  await db.schema.dropTable('video_analysis_jobs').execute();
  await db.schema.dropTable('video_sessions').execute();
}
