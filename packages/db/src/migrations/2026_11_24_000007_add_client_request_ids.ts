import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // The caller's idempotency key for upload.initiate: a retry after a lost answer finds its job instead of making another.
  await db.schema.alterTable('video_analysis_jobs').addColumn('client_request_id', 'text').execute();
  // Keys are per user; the index is also what makes two identical concurrent initiates yield one job.
  await db.schema
    .createIndex('video_analysis_jobs_client_request')
    .unique()
    .on('video_analysis_jobs')
    .columns(['created_by', 'client_request_id'])
    .where(sql.ref('client_request_id'), 'is not', null)
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('video_analysis_jobs_client_request').execute();
  await db.schema.alterTable('video_analysis_jobs').dropColumn('client_request_id').execute();
}
