import { sql, type Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // Serve the per-user initiate rate and the per-owner open-upload count.
  await db.schema
    .createIndex('video_analysis_jobs_creator_recent')
    .on('video_analysis_jobs')
    .columns(['created_by', 'created_at'])
    .execute();
  await db.schema
    .createIndex('video_analysis_jobs_owner_open')
    .on('video_analysis_jobs')
    .columns(['owner_type', 'owner_id'])
    .where(sql.ref('status'), '=', 'awaiting_upload')
    .execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('video_analysis_jobs_owner_open').execute();
  await db.schema.dropIndex('video_analysis_jobs_creator_recent').execute();
}
