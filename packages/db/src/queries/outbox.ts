import { sql, type Kysely } from 'kysely';

import type { Database, OutboxMessage } from '../schema.ts';

/**
 * Writes a pending message. `relayAfterSeconds` keeps the relay off it for that
 * long, for a row its writer is about to send itself; by default it is due at once.
 */
export async function insertOutboxMessage(
  db: Kysely<Database>,
  params: { dedupeKey: string; jobId: string; payload: unknown; relayAfterSeconds?: number; traceparent?: string | null },
): Promise<void> {
  const relayAfter = params.relayAfterSeconds ?? 0;
  await db
    .insertInto('outboxMessages')
    .values({
      dedupeKey: params.dedupeKey,
      jobId: params.jobId,
      payload: JSON.stringify(params.payload),
      traceparent: params.traceparent ?? null,
      ...(relayAfter > 0 ? { availableAt: sql<Date>`now() + make_interval(secs => ${relayAfter})` } : {}),
    })
    .onConflict((oc) => oc.column('dedupeKey').doNothing())
    .execute();
}

export async function findOutboxMessage(db: Kysely<Database>, params: { dedupeKey: string }): Promise<OutboxMessage | undefined> {
  return db.selectFrom('outboxMessages').selectAll().where('dedupeKey', '=', params.dedupeKey).executeTakeFirst();
}

const claimable = sql<boolean>`sent_at is null and (claimed_until is null or claimed_until < now())`;
const claimFor = (seconds: number) => sql<Date>`now() + make_interval(secs => ${seconds})`;

/**
 * Claims one unsent message for `claimSeconds`, so exactly one sender sends
 * it. Undefined: already sent, or someone else holds a live claim.
 */
export async function claimOutboxMessage(
  db: Kysely<Database>,
  params: { dedupeKey: string; claimSeconds: number },
): Promise<OutboxMessage | undefined> {
  return db
    .updateTable('outboxMessages')
    .set({ claimedUntil: claimFor(params.claimSeconds) })
    .where('dedupeKey', '=', params.dedupeKey)
    .where(claimable)
    .returningAll()
    .executeTakeFirst();
}

/** Claims up to `limit` due messages, oldest first, skipping rows another sender is claiming. */
export async function claimDueOutboxMessages(
  db: Kysely<Database>,
  params: { limit: number; claimSeconds: number },
): Promise<OutboxMessage[]> {
  return db
    .updateTable('outboxMessages')
    .set({ claimedUntil: claimFor(params.claimSeconds) })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outboxMessages')
        .select('id')
        .where(claimable)
        .where('availableAt', '<=', sql<Date>`now()`)
        .orderBy('availableAt')
        .orderBy('id')
        .limit(params.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

/**
 * Records the send on the message and, the first time, on its job: one
 * statement (Postgres runs a data-modifying WITH to completion whatever the
 * outer statement reads), so the two records commit together without a
 * transaction's extra round trips.
 */
export async function markOutboxMessageSent(
  db: Kysely<Database>,
  params: { id: string; jobId: string; messageId: string },
): Promise<void> {
  await db
    .with('sent', (cte) =>
      cte
        .updateTable('outboxMessages')
        .set({
          sentAt: sql<Date>`now()`,
          messageId: params.messageId,
          claimedUntil: null,
          attempts: sql<number>`attempts + 1`,
        })
        .where('id', '=', params.id)
        .returning('id'),
    )
    .updateTable('videoAnalysisJobs')
    .set({ sqsMessageId: params.messageId, updatedAt: sql<Date>`now()` })
    .where('id', '=', params.jobId)
    .where('sqsMessageId', 'is', null)
    .execute();
}

/** Records a failed send, releases the claim and pushes the next attempt back by `retryInMs`. */
export async function markOutboxMessageFailed(
  db: Kysely<Database>,
  params: { id: string; error: string; retryInMs: number },
): Promise<void> {
  await db
    .updateTable('outboxMessages')
    .set({
      attempts: sql<number>`attempts + 1`,
      lastError: params.error,
      claimedUntil: null,
      availableAt: sql<Date>`now() + make_interval(secs => ${params.retryInMs / 1000})`,
    })
    .where('id', '=', params.id)
    .execute();
}

/** Gives claimed-but-unsent messages back at once (a batch stopped early). */
export async function releaseOutboxClaims(db: Kysely<Database>, params: { ids: string[] }): Promise<void> {
  if (params.ids.length === 0) return;
  await db
    .updateTable('outboxMessages')
    .set({ claimedUntil: null })
    .where('id', 'in', params.ids)
    .where('sentAt', 'is', null)
    .execute();
}

/** True while one of the job's messages is still unsent (the relay's to deliver). */
export async function hasUnsentOutboxMessage(db: Kysely<Database>, params: { jobId: string }): Promise<boolean> {
  const row = await db
    .selectFrom('outboxMessages')
    .select('id')
    .where('jobId', '=', params.jobId)
    .where('sentAt', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

/** How many messages the job ever had, sent or not. */
export async function countOutboxMessages(db: Kysely<Database>, params: { jobId: string }): Promise<number> {
  const { count } = await db
    .selectFrom('outboxMessages')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('jobId', '=', params.jobId)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** What the relay has yet to send: how many rows, and how long the oldest has waited (0 when none). */
export async function outboxBacklog(db: Kysely<Database>): Promise<{ unsent: number; oldestUnsentAgeSeconds: number }> {
  const row = await db
    .selectFrom('outboxMessages')
    .select([
      (eb) => eb.fn.countAll<string>().as('unsent'),
      sql<string | null>`extract(epoch from now() - min(created_at))`.as('oldestAge'),
    ])
    .where('sentAt', 'is', null)
    .executeTakeFirstOrThrow();
  return { unsent: Number(row.unsent), oldestUnsentAgeSeconds: Math.max(0, Number(row.oldestAge ?? 0)) };
}
