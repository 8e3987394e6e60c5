import type { MessageQueue } from '@coach/aws';
import {
  claimDueOutboxMessages,
  claimOutboxMessage,
  findOutboxMessage,
  markOutboxMessageFailed,
  markOutboxMessageSent,
  releaseOutboxClaims,
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
  /** Bound on one inline send, so a hanging queue cannot hold a request. */
  inlineTimeoutMs?: number;
  /** Bound on one relay send. */
  relayTimeoutMs?: number;
  /** How long a claim lasts: a sender that dies mid-send blocks the row this long. */
  claimSeconds?: number;
  /** How long a caller that lost the claim waits for the claimant's outcome. */
  waitForClaimantMs?: number;
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

/**
 * Sends outbox rows to SQS. A row is claimed in a short statement, sent with
 * no transaction or lock held, then marked: a slow or hung queue can delay a
 * message but never ties up database connections or other callers.
 */
export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const { db, queue, logger } = options;
  const baseRetryMs = options.baseRetryMs ?? 1_000;
  const maxRetryMs = options.maxRetryMs ?? 60_000;
  const inlineCooldownMs = options.inlineCooldownMs ?? 5_000;
  const claimSeconds = options.claimSeconds ?? 30;
  const waitForClaimantMs = options.waitForClaimantMs ?? 3_000;
  const now = options.now ?? Date.now;
  let lastFailureAt = Number.NEGATIVE_INFINITY;

  /** Sends one claimed row; its SQS message id when it went out. */
  async function send(message: OutboxMessage, timeoutMs: number): Promise<string | undefined> {
    let messageId: string;
    try {
      ({ messageId } = await queue.send(JSON.stringify(message.payload), { timeoutMs }));
    } catch (error) {
      lastFailureAt = now();
      const retryInMs = Math.min(maxRetryMs, baseRetryMs * 2 ** Math.min(message.attempts, 16));
      await markOutboxMessageFailed(db, { id: message.id, error: describe(error), retryInMs });
      logger.warn({ err: error, outboxId: message.id, jobId: message.jobId, retryInMs }, 'outbox send failed');
      return undefined;
    }
    await markOutboxMessageSent(db, { id: message.id, jobId: message.jobId, messageId });
    return messageId;
  }

  /** Another sender holds the claim: wait a little for its outcome rather than send twice. */
  async function awaitClaimant(dedupeKey: string): Promise<string | undefined> {
    const deadline = now() + waitForClaimantMs;
    for (;;) {
      const row = await findOutboxMessage(db, { dedupeKey });
      if (!row) return undefined;
      if (row.sentAt) return row.messageId ?? undefined;
      if (!row.claimedUntil || now() >= deadline) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  return {
    async dispatch(dedupeKey) {
      if (now() - lastFailureAt < inlineCooldownMs) {
        return (await findOutboxMessage(db, { dedupeKey }))?.messageId ?? undefined;
      }
      const claimed = await claimOutboxMessage(db, { dedupeKey, claimSeconds });
      if (!claimed) return awaitClaimant(dedupeKey);
      return send(claimed, options.inlineTimeoutMs ?? 2_000);
    },
    async relayDue(limit) {
      const due = await claimDueOutboxMessages(db, { limit, claimSeconds });
      let sent = 0;
      for (const [index, message] of due.entries()) {
        if (await send(message, options.relayTimeoutMs ?? 10_000)) {
          sent += 1;
          continue;
        }
        // The queue is failing: hand the rest back rather than wait out a timeout for each.
        await releaseOutboxClaims(db, { ids: due.slice(index + 1).map((m) => m.id) });
        return { sent, failed: 1 };
      }
      return { sent, failed: 0 };
    },
  };
}

/** What is kept of a failed send: the error's kind, never a payload or credentials. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return 'send failed';
  const cause = error.cause instanceof Error ? `: ${error.cause.name}` : '';
  return `${error.message}${cause}`.slice(0, 500);
}
