import { context, SpanKind, trace } from '@opentelemetry/api';

import type { MessageQueue, ReceivedMessage } from '@coach/aws';
import { contextFromTraceparent, productTracer, signals, type Logger } from '@coach/jobs';

/** What to do with a message once its handler is done. */
export type Disposition =
  | { kind: 'delete' }
  /**
   * Make it visible again after `delaySeconds`; SQS redelivers it (and dead-letters it after maxReceiveCount).
   * `outage`: a dependency every message needs is misconfigured; receiving pauses until `outageProbe` passes.
   */
  | { kind: 'retry'; delaySeconds: number; outage?: boolean }
  /** Touch nothing: someone else owns the work, or SQS should redeliver on its own schedule. */
  | { kind: 'leave' }
  /** Poison: copy it to the dead-letter queue and delete it, never retrying. */
  | { kind: 'dead-letter' };

export interface HandlerContext {
  /** Aborted when the worker shuts down past its budget; handlers must stop and release. */
  signal: AbortSignal;
  /** Keeps the message hidden while a long job runs. */
  extendVisibility: (seconds: number) => Promise<void>;
}

export type MessageHandler = (message: ReceivedMessage, ctx: HandlerContext) => Promise<Disposition>;

export interface ConsumerOptions {
  /** The queue's role (`analysis`, `upload-events`): the label of its receive lag and the name of its spans. */
  name: string;
  queue: MessageQueue;
  /** Where `dead-letter` copies a message; without one, the message is left for the queue's own redrive policy. */
  deadLetterQueue?: MessageQueue;
  handler: MessageHandler;
  logger: Logger;
  /** Messages processed at once. */
  concurrency: number;
  visibilityTimeoutSeconds: number;
  waitTimeSeconds?: number;
  /** Pause after a failed receive, so an outage does not spin. */
  errorBackoffMs?: number;
  /**
   * Resolves once what an `outage` disposition reported works again (e.g. the
   * bucket answers). Until then nothing is received, so the outage does not
   * spend every waiting message's receives towards the dead-letter queue:
   * each message it reached loses one. Asked every `errorBackoffMs`.
   */
  outageProbe?: () => Promise<void>;
}

export interface Consumer {
  readonly inFlight: number;
  /**
   * Stops receiving, gives in-flight handlers `budgetMs` to finish, then
   * aborts the rest (they release their work) and waits for them to return.
   */
  stop(budgetMs: number): Promise<void>;
}

/**
 * A slot-based long-poll loop: it asks SQS only for as many messages as it has
 * free slots, so one long video never holds up the others, and it applies each
 * handler's disposition itself.
 */
export function startConsumer(options: ConsumerOptions): Consumer {
  const { queue, deadLetterQueue, handler, logger, concurrency } = options;
  const receiving = new AbortController();
  const jobs = new AbortController();
  const inFlight = new Set<Promise<void>>();
  /**
   * The newest receipt handle of each message a handler here is working on.
   * SQS honours only the latest handle of a message it handed out again.
   */
  const handles = new Map<string, string>();
  let slotFreed: (() => void) | undefined;
  let outage = false;

  const handleOf = (message: ReceivedMessage) => handles.get(message.messageId) ?? message.receiptHandle;

  const settle = async (message: ReceivedMessage, disposition: Disposition) => {
    const receiptHandle = handleOf(message);
    switch (disposition.kind) {
      case 'delete':
        return queue.delete(receiptHandle);
      case 'retry': {
        // An outage's message stays hidden past a long poll begun before the pause, which would take it again.
        const floor = disposition.outage ? (options.waitTimeSeconds ?? 20) + 1 : 0;
        return queue.changeVisibility(receiptHandle, Math.max(floor, Math.round(disposition.delaySeconds)));
      }
      case 'leave':
        return;
      case 'dead-letter':
        if (!deadLetterQueue) return;
        await deadLetterQueue.send(message.body, { traceparent: message.traceparent });
        return queue.delete(receiptHandle);
    }
  };

  /**
   * A message handed out again while a handler here still works on it: its
   * heartbeat came too late (the process was starved of CPU). Rather than a
   * second run that finds the job taken and lets the copy cycle back every
   * visibility timeout (each receive counting towards the dead-letter queue,
   * for a job that will complete), the running handler adopts the new handle
   * and the message is hidden again at once.
   */
  const adoptRedelivery = (message: ReceivedMessage) => {
    handles.set(message.messageId, message.receiptHandle);
    logger.warn(
      { messageId: message.messageId, receiveCount: message.receiveCount },
      'message redelivered while in progress; hidden again',
    );
    queue.changeVisibility(message.receiptHandle, options.visibilityTimeoutSeconds).catch((error: unknown) => {
      logger.warn({ err: error, messageId: message.messageId }, 'could not hide a redelivered message');
    });
  };

  const run = (message: ReceivedMessage) => {
    if (handles.has(message.messageId)) return adoptRedelivery(message);
    handles.set(message.messageId, message.receiptHandle);
    if (message.sentAtMs !== undefined) {
      signals().queueReceiveLag.record(Math.max(0, Date.now() - message.sentAtMs) / 1000, { queue: options.name });
    }
    // The sender's trace (the request that wrote the outbox row) continues here, however long the message waited.
    const parent = contextFromTraceparent(message.traceparent);
    const span = productTracer().startSpan(
      `process ${options.name} message`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'aws_sqs',
          'messaging.message.id': message.messageId,
          'coachplus.receive_count': message.receiveCount,
        },
      },
      parent,
    );
    const task = (async () => {
      let disposition: Disposition;
      try {
        disposition = await context.with(trace.setSpan(parent, span), () =>
          handler(message, {
            signal: jobs.signal,
            extendVisibility: (seconds) => queue.changeVisibility(handleOf(message), seconds),
          }),
        );
      } catch (error) {
        // A handler that throws has not recorded an outcome; SQS redelivers after the timeout.
        logger.error({ err: error, messageId: message.messageId }, 'message handler failed');
        disposition = { kind: 'leave' };
      }
      span.setAttribute('coachplus.disposition', disposition.kind);
      span.end();
      if (disposition.kind === 'retry' && disposition.outage && options.outageProbe) outage = true;
      try {
        await settle(message, disposition);
      } catch (error) {
        logger.warn({ err: error, messageId: message.messageId, disposition: disposition.kind }, 'could not settle message');
      } finally {
        handles.delete(message.messageId);
      }
    })();
    inFlight.add(task);
    void task.finally(() => {
      inFlight.delete(task);
      slotFreed?.();
    });
  };

  const waitForSlot = () =>
    new Promise<void>((resolve) => {
      slotFreed = resolve;
    });

  // The long poll is never aborted: SQS may already have handed messages to
  // an abandoned poll, hiding them for a whole visibility timeout. Stopping
  // instead waits for the poll to return and releases what it brought.
  const loop = (async () => {
    while (!receiving.signal.aborted) {
      if (inFlight.size >= concurrency) {
        await Promise.race([waitForSlot(), aborted(receiving.signal)]);
        continue;
      }
      if (outage && options.outageProbe) {
        try {
          await options.outageProbe();
          outage = false;
          logger.info({}, 'dependency answers again; receiving');
        } catch (error) {
          logger.warn({ err: error }, 'dependency still unavailable; not receiving');
          await sleep(options.errorBackoffMs ?? 2_000, receiving.signal);
          continue;
        }
      }
      try {
        const messages = await queue.receive({
          maxMessages: Math.min(10, concurrency - inFlight.size),
          waitTimeSeconds: options.waitTimeSeconds ?? 20,
          visibilityTimeoutSeconds: options.visibilityTimeoutSeconds,
        });
        if (receiving.signal.aborted) {
          await Promise.all(messages.map((m) => settle(m, { kind: 'retry', delaySeconds: 0 }).catch(() => {})));
          break;
        }
        for (const message of messages) run(message);
      } catch (error) {
        if (receiving.signal.aborted) break;
        logger.warn({ err: error }, 'receive failed; backing off');
        await sleep(options.errorBackoffMs ?? 2_000, receiving.signal);
      }
    }
  })();

  return {
    get inFlight() {
      return inFlight.size;
    },
    async stop(budgetMs) {
      receiving.abort();
      const finishJobs = async () => {
        const drained = Promise.all(inFlight).then(() => true);
        const inTime = await Promise.race([drained, sleep(budgetMs).then(() => false)]);
        if (!inTime) {
          logger.warn({ remaining: inFlight.size }, 'shutdown budget spent; releasing in-flight jobs');
          jobs.abort();
          await Promise.all(inFlight);
        }
      };
      // The last poll (at most waitTimeSeconds) and the in-flight jobs wind down together.
      await Promise.all([loop, finishJobs()]);
      await Promise.all(inFlight);
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
