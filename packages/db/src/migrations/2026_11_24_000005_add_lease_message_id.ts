import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // The SQS message a lease was taken for: any other copy seen during the
  // lease is a duplicate and can be dropped instead of being redelivered
  // until it lands in the dead-letter queue.
  await db.schema.alterTable('video_analysis_jobs').addColumn('lease_message_id', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('video_analysis_jobs').dropColumn('lease_message_id').execute();
}
