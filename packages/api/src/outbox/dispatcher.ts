import type { MessageQueue } from '@coach/aws';
import {
  lockDueOutboxMessages,
  lockOutboxMessage,
  markOutboxMessageFailed,
  markOutboxMessageSent,
  sql,
  type Database,
  type Kysely,
  type OutboxMessage,
} from '@coach/db';

import type { Logger } from '../logger.ts';

export interface OutboxDispatcherOptions {
  db: Kysely<Database>;
  queue: MessageQueue;
  logger: Logger;
  /** First retry delay after a failed send; doubles per attempt up to `maxRetryMs`. */
  baseRetryMs?: number;
  maxRetryMs?: number;
  /** After a failed send, inline dispatch is skipped this long and left to the relay. */
  inlineCooldownMs?: number;
  now?: () => number;
}

export interface OutboxDispatcher {
  /**
   * Sends the message with this key unless it was sent already. Returns its SQS
   * message id, or undefined when it could not be sent now (the relay retries).
   */
  dispatch(dedupeKey: string): Promise<string | undefined>;
  /** Sends up to `limit` due messages; the relay's unit of work. */
  relayDue(limit: number): Promise<{ sent: number; failed: number }>;
}

export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const { db, queue, logger } = options;
  const baseRetryMs = options.baseRetryMs ?? 1_000;
  const maxRetryMs = options.maxRetryMs ?? 60_000;
  const inlineCooldownMs = options.inlineCooldownMs ?? 5_000;
  const now = options.now ?? Date.now;
  let lastFailureAt = Number.NEGATIVE_INFINITY;

  /** Sends one locked row and records the outcome inside the caller's transaction. */
  async function send(trx: Kysely<Database>, message: OutboxMessage): Promise<string | undefined> {
    let messageId: string;
    try {
      ({ messageId } = await queue.send(JSON.stringify(message.payload)));
    } catch (error) {
      lastFailureAt = now();
      const retryInMs = Math.min(maxRetryMs, baseRetryMs * 2 ** Math.min(message.attempts, 16));
      await markOutboxMessageFailed(trx, {
        id: message.id,
        error: error instanceof Error ? error.message : 'send failed',
        retryInMs,
      });
      logger.warn({ err: error, outboxId: message.id, jobId: message.jobId, retryInMs }, 'outbox send failed');
      return undefined;
    }
    await markOutboxMessageSent(trx, { id: message.id, messageId });
    await trx
      .updateTable('videoAnalysisJobs')
      .set({ sqsMessageId: messageId, updatedAt: sql<Date>`now()` })
      .where('id', '=', message.jobId)
      .where('sqsMessageId', 'is', null)
      .execute();
    return messageId;
  }

  return {
    async dispatch(dedupeKey) {
      if (now() - lastFailureAt < inlineCooldownMs) return undefined;
      return db.transaction().execute(async (trx) => {
        const message = await lockOutboxMessage(trx, { dedupeKey });
        if (!message) return undefined;
        if (message.sentAt) return message.messageId ?? undefined;
        return send(trx, message);
      });
    },
    async relayDue(limit) {
      return db.transaction().execute(async (trx) => {
        const due = await lockDueOutboxMessages(trx, { limit });
        let sent = 0;
        let failed = 0;
        for (const message of due) {
          if (await send(trx, message)) {
            sent += 1;
          } else {
            // The queue is failing: leave the rest due rather than wait out a timeout for each.
            failed += 1;
            break;
          }
        }
        return { sent, failed };
      });
    },
  };
}
