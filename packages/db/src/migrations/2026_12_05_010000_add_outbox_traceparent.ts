import type { Kysely } from 'kysely';

// The request's trace context (W3C traceparent), so a message sent later by the relay
// still continues the trace of the request that wrote it. Null: nothing was traced.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations describe the schema at one point in time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox_messages').addColumn('traceparent', 'text').execute();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox_messages').dropColumn('traceparent').execute();
}
