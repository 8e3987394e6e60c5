import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

import { AwsMisconfiguredError, type MessageQueue } from '@coach/aws';
import {
  claimDueOutboxMessages,
  claimOutboxMessage,
  findOutboxMessage,
  insertOutboxMessage,
  isDatabaseUnavailable,
  markOutboxMessageFailed,
  markOutboxMessageSent,
  releaseOutboxClaims,
  type Database,
  type Kysely,
  type OutboxMessage,
} from '@coach/db';

import type { Logger } from '../logger.ts';
import { contextFromTraceparent, productTracer, traceparentOf } from '../signals.ts';

/**
 * Attempts at recording an accepted send over dropped connections before leaving it to the
 * claim's lapse; 50 ms apart, doubling. Each attempt can also wait for a pooled connection,
 * so retries stop early at the sender's deadline too.
 */
const MARK_SENT_ATTEMPTS = 5;

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
  /**
   * How long the relay leaves a row written by `enqueue` to the request that
   * wrote it, which sends it inline. Under load that send can start seconds
   * after the commit; a relay that took the row first would leave the request's
   * concurrent callers waiting on the relay, and answering without the id.
   * Rows written otherwise (e.g. by the sweeper) are relayed at once.
   */
  relayGraceMs?: number;
  now?: () => number;
}

export interface OutboxMessageToSend {
  dedupeKey: string;
  jobId: string;
  payload: unknown;
}

export interface OutboxDispatcher {
  /**
   * Writes a message in the caller's transaction, for the caller to `dispatch`
   * once it commits; the relay leaves it alone for `relayGraceMs` meanwhile.
   */
  enqueue(trx: Kysely<Database>, message: OutboxMessageToSend): Promise<void>;
  /**
   * Sends the message with this key unless it was sent already. Returns its SQS
   * message id, or undefined when it could not be sent now (the relay retries).
   * Throws `AwsMisconfiguredError` when the queue is missing or refuses this
   * process (the row stays for the relay): an outage the caller reports, not a delay.
   */
  dispatch(dedupeKey: string): Promise<string | undefined>;
  /** Sends up to `limit` due messages; the relay's unit of work. */
  relayDue(limit: number): Promise<{ sent: number; failed: number }>;
}

/**
 * Writes a message in the caller's transaction for the relay to send at once:
 * for writers that send nothing themselves (the sweeper's re-queues and
 * redispatches). Writers that send inline use the dispatcher's `enqueue`.
 */
export function enqueueForRelay(trx: Kysely<Database>, message: OutboxMessageToSend): Promise<void> {
  return insertOutboxMessage(trx, { ...message, traceparent: traceparentOf() });
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
  /** Part of a claim kept free after a send, for recording it before the claim lapses. */
  const claimMarginMs = Math.min(2_000, claimSeconds * 250);
  const now = options.now ?? Date.now;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;

  /** An unsent message is only late when the queue is flaky; a queue that is missing or refused is an outage to report. */
  const unsent = (): undefined => {
    if (lastFailure instanceof AwsMisconfiguredError) throw lastFailure;
    return undefined;
  };

  /**
   * Sends one claimed row; its SQS message id when it went out. The send is bounded
   * by `timeoutMs`, and recording its outcome stops retrying at `recordBy` (epoch ms).
   */
  async function send(message: OutboxMessage, timeoutMs: number, recordBy: number): Promise<string | undefined> {
    let messageId: string;
    // The send continues the trace of the request that wrote the row, however much later it runs.
    const parent = contextFromTraceparent(message.traceparent);
    const span = productTracer().startSpan(
      'outbox send',
      {
        kind: SpanKind.PRODUCER,
        attributes: { 'messaging.system': 'aws_sqs', 'coachplus.outbox.attempt': message.attempts + 1 },
      },
      parent,
    );
    try {
      const traceparent = traceparentOf(trace.setSpan(parent, span));
      ({ messageId } = await queue.send(JSON.stringify(message.payload), { timeoutMs, traceparent }));
      span.setAttribute('messaging.message.id', messageId);
      span.end();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
      span.end();
      lastFailureAt = now();
      lastFailure = error;
      const retryInMs = Math.min(maxRetryMs, baseRetryMs * 2 ** Math.min(message.attempts, 16));
      const log = { err: error, outboxId: message.id, jobId: message.jobId, retryInMs };
      // A missing or refused queue names the setting to fix: an operator must see it.
      if (error instanceof AwsMisconfiguredError) logger.error(log, `outbox send failed: ${error.message}`);
      else logger.warn(log, 'outbox send failed');
      try {
        await markOutboxMessageFailed(db, { id: message.id, error: describe(error), retryInMs });
      } catch (markError) {
        // Nothing was sent and the row is still pending: its claim lapses and the relay tries again.
        if (!isDatabaseUnavailable(markError)) throw markError;
        logger.warn({ err: markError, outboxId: message.id, jobId: message.jobId }, 'could not record a failed send');
      }
      return undefined;
    }
    lastFailure = undefined;
    await recordSent(message, messageId, recordBy);
    return messageId;
  }

  /**
   * Records a send that SQS accepted. An unrecorded send is sent again once the
   * claim lapses (a duplicate message), so a dropped connection is worth a few
   * quick retries on a fresh one before giving up on the record (not on the send).
   */
  async function recordSent(message: OutboxMessage, messageId: string, recordBy: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await markOutboxMessageSent(db, { id: message.id, jobId: message.jobId, messageId });
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        const log = { err: error, outboxId: message.id, jobId: message.jobId, messageId, attempt };
        const delayMs = 50 * 2 ** (attempt - 1);
        if (attempt >= MARK_SENT_ATTEMPTS || now() + delayMs >= recordBy) {
          // The message is on the queue: the caller's answer is true. Only the record is
          // missing, which costs one duplicate (dropped by the worker), not an error.
          logger.error(log, 'could not record a sent message; it will be sent again once its claim lapses');
          return;
        }
        logger.warn(log, 'could not record a sent message; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
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

  async function dispatchOnce(dedupeKey: string): Promise<string | undefined> {
    if (now() - lastFailureAt < inlineCooldownMs) {
      return (await findOutboxMessage(db, { dedupeKey }))?.messageId ?? unsent();
    }
    const claimedAt = now();
    const claimed = await claimOutboxMessage(db, { dedupeKey, claimSeconds });
    if (!claimed) return awaitClaimant(dedupeKey);
    const timeoutMs = Math.min(options.inlineTimeoutMs ?? 2_000, claimSeconds * 1000 - claimMarginMs);
    // A request waits on the record no longer than on the send itself, and never past the claim.
    const recordBy = Math.min(now() + 2 * timeoutMs, claimedAt + claimSeconds * 1000 - claimMarginMs / 2);
    return (await send(claimed, timeoutMs, recordBy)) ?? unsent();
  }

  // Callers in this process that dispatch a key while it is being dispatched share
  // that attempt and its outcome: under load, polling the row for another caller's
  // send both starved that send of connections and gave up on it before it landed.
  const inFlight = new Map<string, Promise<string | undefined>>();

  const relayGraceSeconds = (options.relayGraceMs ?? 10_000) / 1000;

  return {
    enqueue(trx, message) {
      return insertOutboxMessage(trx, { ...message, relayAfterSeconds: relayGraceSeconds, traceparent: traceparentOf() });
    },
    dispatch(dedupeKey) {
      const pending = inFlight.get(dedupeKey);
      if (pending) return pending;
      const attempt = dispatchOnce(dedupeKey).finally(() => inFlight.delete(dedupeKey));
      inFlight.set(dedupeKey, attempt);
      return attempt;
    },
    async relayDue(limit) {
      const claimEndsAt = now() + claimSeconds * 1000;
      const due = await claimDueOutboxMessages(db, { limit, claimSeconds });
      let sent = 0;
      for (const [index, message] of due.entries()) {
        // A send that could outlast the batch's claim would race another sender for the
        // same row (a duplicate): once the claim runs short, hand the rest back.
        const roomMs = claimEndsAt - now() - claimMarginMs;
        if (roomMs < claimMarginMs) {
          await releaseOutboxClaims(db, { ids: due.slice(index).map((m) => m.id) });
          return { sent, failed: 0 };
        }
        let messageId: string | undefined;
        try {
          messageId = await send(message, Math.min(options.relayTimeoutMs ?? 10_000, roomMs), claimEndsAt - claimMarginMs / 2);
        } catch (error) {
          // Not the queue (send absorbs its failures): still, the rest of the batch need not wait out the claim.
          await releaseOutboxClaims(db, { ids: due.slice(index + 1).map((m) => m.id) }).catch(() => {});
          throw error;
        }
        if (messageId) {
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
