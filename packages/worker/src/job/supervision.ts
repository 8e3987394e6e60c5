import { extendLease, type Database, type Kysely } from '@coach/db';
import type { Logger } from '@coach/jobs';

import type { HandlerContext } from '../consumer.ts';

/** Why a running analysis was stopped from outside. */
export type Stop = 'shutdown' | 'lease-lost' | 'deadline';

export interface Supervision {
  /** Aborted (with the `Stop` as reason) on shutdown, deadline or a lost lease. */
  readonly signal: AbortSignal;
  /** The first reason the analysis was stopped, if it was. */
  stopReason(): Stop | undefined;
  halt(reason: Stop): void;
  /** Stops the heartbeat and waits for a tick in flight: before any final write. */
  stopHeartbeat(): Promise<void>;
  /** Clears every timer and listener. */
  end(): void;
}

/**
 * Watches one running analysis: the worker's shutdown, the job deadline, and
 * a heartbeat every `lease / 3` that renews the lease and the message's
 * visibility (a heartbeat that finds the lease gone, or cannot renew it
 * before it runs out, stops the analysis).
 */
export function superviseJob(p: {
  db: Kysely<Database>;
  ctx: HandlerContext;
  logger: Logger;
  log: object;
  jobId: string;
  leaseToken: string;
  leaseSeconds: number;
  visibilityTimeoutSeconds: number;
  maxJobSeconds: number;
}): Supervision {
  const stop = new AbortController();
  let reason: Stop | undefined;
  const halt = (why: Stop) => {
    reason ??= why;
    stop.abort(why);
  };
  const onShutdown = () => halt('shutdown');
  p.ctx.signal.addEventListener('abort', onShutdown, { once: true });
  if (p.ctx.signal.aborted) onShutdown();
  const deadline = setTimeout(() => halt('deadline'), p.maxJobSeconds * 1000);
  // One tick at a time, and awaited before any final write: a tick that
  // started before a release must not re-hide the message afterwards.
  let tick: Promise<void> = Promise.resolve();
  // Until when the lease is surely ours, on this process's clock (counted from before each renewal was sent).
  let heldUntil = Date.now() + p.leaseSeconds * 1000;
  const heartbeat = setInterval(
    () => {
      tick = tick.then(async () => {
        if (reason) return;
        const sentAt = Date.now();
        try {
          const held = await extendLease(p.db, { jobId: p.jobId, leaseToken: p.leaseToken, leaseSeconds: p.leaseSeconds });
          if (!held) return halt('lease-lost');
          heldUntil = sentAt + p.leaseSeconds * 1000;
          await p.ctx.extendVisibility(p.visibilityTimeoutSeconds);
        } catch (error) {
          p.logger.warn({ ...p.log, err: error }, 'heartbeat failed');
          // Renewals failing until the lease ran out (the database unreachable): the job may be another
          // worker's or deleted by now, so nothing more may be written for it.
          if (Date.now() >= heldUntil) halt('lease-lost');
        }
      });
    },
    (p.leaseSeconds * 1000) / 3,
  );

  return {
    signal: stop.signal,
    stopReason: () => reason,
    halt,
    async stopHeartbeat() {
      clearInterval(heartbeat);
      await tick;
    },
    end() {
      clearInterval(heartbeat);
      clearTimeout(deadline);
      p.ctx.signal.removeEventListener('abort', onShutdown);
    },
  };
}
