import type { Logger } from '../logger.ts';
import type { OutboxDispatcher } from './dispatcher.ts';

export interface OutboxRelayOptions {
  dispatcher: OutboxDispatcher;
  logger: Logger;
  /** Pause between polls when nothing is due. */
  idleIntervalMs?: number;
  batchSize?: number;
}

export interface OutboxRelay {
  /** Stops polling and waits for the batch in flight to finish. */
  stop(): Promise<void>;
}

/** Polls the outbox and sends due messages until stopped. */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const idleIntervalMs = options.idleIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 25;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let wakeUp: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wakeUp = resolve;
      timer = setTimeout(resolve, ms);
    });

  const loop = (async () => {
    while (!controller.signal.aborted) {
      let busy = false;
      try {
        const { sent, failed } = await options.dispatcher.relayDue(batchSize);
        busy = sent === batchSize && failed === 0;
        if (sent > 0) options.logger.info({ sent, failed }, 'outbox relayed messages');
      } catch (error) {
        options.logger.error({ err: error }, 'outbox relay pass failed');
      }
      if (!busy && !controller.signal.aborted) await sleep(idleIntervalMs);
    }
  })();

  return {
    async stop() {
      controller.abort();
      clearTimeout(timer);
      wakeUp?.();
      await loop;
    },
  };
}
