import { describe, expect, it } from 'vitest';

import type { MessageQueue, ReceivedMessage, ReceiveParams } from '@coach/aws';
import { silentLogger } from '@coach/jobs';
import { startConsumer, type Disposition } from '@coach/worker';

import { waitFor } from '../../../test/helpers/wait.ts';

/**
 * A queue that hands out scripted deliveries one receive at a time and
 * records what the consumer does with each receipt handle: the fault here is
 * SQS handing a message out again because its heartbeat came too late.
 */
class ScriptedQueue implements MessageQueue {
  readonly calls: string[] = [];
  private waiting: ((messages: ReceivedMessage[]) => void) | undefined;

  deliver(message: ReceivedMessage) {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.([message]);
  }
  get polling() {
    return this.waiting !== undefined;
  }
  receive(params: ReceiveParams) {
    return new Promise<ReceivedMessage[]>((resolve) => {
      this.waiting = resolve;
      // A stopping consumer waits out its last poll: answer it empty after the wait.
      setTimeout(() => {
        if (this.waiting === resolve) {
          this.waiting = undefined;
          resolve([]);
        }
      }, params.waitTimeSeconds * 1000).unref();
    });
  }
  send() {
    return Promise.resolve({ messageId: 'dlq-copy' });
  }
  delete(receiptHandle: string) {
    this.calls.push(`delete ${receiptHandle}`);
    return Promise.resolve();
  }
  changeVisibility(receiptHandle: string, timeoutSeconds: number) {
    this.calls.push(`hide ${receiptHandle} ${timeoutSeconds}`);
    return Promise.resolve();
  }
  ping() {
    return Promise.resolve();
  }
}

const until = (what: string, condition: () => boolean) => waitFor(condition, { what, intervalMs: 5 });

describe('startConsumer', () => {
  it('a message handed out again while its handler runs is not run twice: the handler adopts the newest handle and it is hidden again', async () => {
    const queue = new ScriptedQueue();
    let runs = 0;
    let finish!: (d: Disposition) => void;
    let extend!: (seconds: number) => Promise<void>;
    const consumer = startConsumer({
      name: 'test',
      queue,
      deadLetterQueue: queue,
      logger: silentLogger,
      concurrency: 2,
      visibilityTimeoutSeconds: 90,
      waitTimeSeconds: 1,
      handler: (_message, ctx) => {
        runs++;
        extend = ctx.extendVisibility;
        return new Promise((resolve) => (finish = resolve));
      },
    });
    const message = { messageId: 'm-1', body: '{}', receiptHandle: 'first', receiveCount: 1 };

    await until('the first poll', () => queue.polling);
    queue.deliver(message);
    await until('the handler to start and the next poll', () => runs === 1 && queue.polling);
    queue.deliver({ ...message, receiptHandle: 'second', receiveCount: 2 });
    await until('the redelivery to be handled', () => queue.calls.length > 0 || runs > 1);
    expect(runs).toBe(1);
    expect(queue.calls).toEqual(['hide second 90']);

    await extend(90);
    finish({ kind: 'delete' });
    await until('the message to be settled', () => queue.calls.length === 3);
    expect(queue.calls).toEqual(['hide second 90', 'hide second 90', 'delete second']);
    await consumer.stop(1_000);

    expect(consumer.inFlight).toBe(0);
  });
});
