import { sql, type Kysely } from 'kysely';

import type { Database, OutboxMessage } from '../schema.ts';

export async function insertOutboxMessage(
  db: Kysely<Database>,
  params: { dedupeKey: string; jobId: string; payload: unknown },
): Promise<void> {
  await db
    .insertInto('outboxMessages')
    .values({ dedupeKey: params.dedupeKey, jobId: params.jobId, payload: JSON.stringify(params.payload) })
    .onConflict((oc) => oc.column('dedupeKey').doNothing())
    .execute();
}

/**
 * Locks one message by key for the rest of the transaction. Concurrent callers
 * for the same key wait here, so only one of them ever sends it.
 */
export async function lockOutboxMessage(
  db: Kysely<Database>,
  params: { dedupeKey: string },
): Promise<OutboxMessage | undefined> {
  return db
    .selectFrom('outboxMessages')
    .selectAll()
    .where('dedupeKey', '=', params.dedupeKey)
    .forUpdate()
    .executeTakeFirst();
}

/** Locks up to `limit` due, unsent messages, skipping rows another sender holds. */
export async function lockDueOutboxMessages(
  db: Kysely<Database>,
  params: { limit: number },
): Promise<OutboxMessage[]> {
  return db
    .selectFrom('outboxMessages')
    .selectAll()
    .where('sentAt', 'is', null)
    .where('availableAt', '<=', sql<Date>`now()`)
    .orderBy('availableAt')
    .orderBy('id')
    .limit(params.limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function markOutboxMessageSent(
  db: Kysely<Database>,
  params: { id: string; messageId: string },
): Promise<void> {
  await db
    .updateTable('outboxMessages')
    .set({ sentAt: sql<Date>`now()`, messageId: params.messageId, attempts: sql<number>`attempts + 1` })
    .where('id', '=', params.id)
    .execute();
}

/** Records a failed send and pushes the next attempt back by `retryInMs`. */
export async function markOutboxMessageFailed(
  db: Kysely<Database>,
  params: { id: string; error: string; retryInMs: number },
): Promise<void> {
  await db
    .updateTable('outboxMessages')
    .set({
      attempts: sql<number>`attempts + 1`,
      lastError: params.error,
      availableAt: sql<Date>`now() + make_interval(secs => ${params.retryInMs / 1000})`,
    })
    .where('id', '=', params.id)
    .execute();
}

export async function countPendingOutboxMessages(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('outboxMessages')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('sentAt', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
