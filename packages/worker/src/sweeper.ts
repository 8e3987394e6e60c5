import type { RetentionReport } from '@coach/jobs';

import { recoverAbandonedJobs } from './sweep/abandoned-jobs.ts';
import { carryOutDeletions, type DeletionReport } from './sweep/deletions.ts';
import { expireUploads } from './sweep/expire-uploads.ts';
import type { SweeperOptions } from './sweep/options.ts';
import { enforceRetention } from './sweep/retention.ts';
import { redispatchStaleJobs } from './sweep/stale-queued-jobs.ts';
import { sweepWatchedKeys, type KeyWatchReport } from './sweep/watched-keys.ts';

export type { SweeperOptions };

export interface SweepReport extends KeyWatchReport, DeletionReport, RetentionReport {
  expired: number;
  /** Overdue uploads found landed in storage and queued instead of expired. */
  completedUploads: number;
  /** Overdue uploads found landed but failing the checks: rejected, as upload.complete would. */
  rejectedUploads: number;
  requeued: number;
  failed: number;
  redispatched: number;
}

/**
 * One round of housekeeping, its passes one after another; every step is a
 * conditional update, so rounds may overlap safely.
 */
export async function sweepOnce(options: SweeperOptions): Promise<SweepReport> {
  const pass = { ...options, limit: options.batchSize ?? 100 };
  const uploads = await expireUploads(pass);
  const abandoned = await recoverAbandonedJobs(pass);
  const stale = await redispatchStaleJobs(pass);
  // After the expiries above, so a job expired in this round is checked in it too.
  const keys = await sweepWatchedKeys(pass);
  // Before the deletion pass, so what retention decides is carried out in this round.
  const retention = await enforceRetention(pass);
  const deletions = await carryOutDeletions(pass);
  return {
    expired: uploads.expired,
    completedUploads: uploads.completed,
    rejectedUploads: uploads.rejected,
    requeued: abandoned.requeued,
    failed: abandoned.failed + stale.failed,
    redispatched: stale.redispatched,
    ...keys,
    ...retention,
    ...deletions,
  };
}

/** Runs `sweepOnce` every `intervalMs` until stopped. */
export function startSweeper(options: SweeperOptions & { intervalMs: number }): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      sweepOnce(options).then(
        (report) => {
          // Checking watched keys alone changes nothing worth a line.
          const { keysChecked: _checked, ...changes } = report;
          if (Object.values(changes).some((n) => n > 0)) options.logger.info({ ...report }, 'sweep finished');
        },
        (error: unknown) => options.logger.error({ err: error }, 'sweep failed'),
      ),
    );
  }, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
