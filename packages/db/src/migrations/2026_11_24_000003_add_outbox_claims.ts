import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  // A sender claims a row for a short while instead of holding a row lock
  // across the SQS call; a crashed sender's claim simply lapses.
  await db.schema.alterTable('outbox_messages').addColumn('claimed_until', 'timestamptz').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox_messages').dropColumn('claimed_until').execute();
}
