import type { ObjectStorage } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import type { Logger } from '@coach/jobs';

import { sweepWatchedKeys, type KeyWatchReport } from './sweep/watched-keys.ts';
import { recoverAbandonedJobs } from './sweep/abandoned-jobs.ts';
import { expireUploads } from './sweep/expire-uploads.ts';
import { redispatchStaleJobs } from './sweep/stale-queued-jobs.ts';

export interface SweeperOptions {
  db: Kysely<Database>;
  storage: ObjectStorage;
  logger: Logger;
  /**
   * After the upload URL expired, how long a slow PUT may still be finishing: an
   * upload is expired only then, and a closed upload's key is watched as long.
   */
  uploadGraceSeconds: number;
  /** How long past its lease a `processing` job must be before it counts as abandoned. */
  abandonedGraceSeconds: number;
  /** How long a `queued` job may sit untouched before its message is presumed lost. */
  staleQueuedSeconds: number;
  /** Claims allowed per job before it is failed. */
  maxAttempts: number;
  batchSize?: number;
}

export interface SweepReport extends KeyWatchReport {
  expired: number;
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
  const expired = await expireUploads(pass);
  const abandoned = await recoverAbandonedJobs(pass);
  const stale = await redispatchStaleJobs(pass);
  // After the expiries above, so a job expired in this round is checked in it too.
  const keys = await sweepWatchedKeys(pass);
  return {
    expired,
    requeued: abandoned.requeued,
    failed: abandoned.failed + stale.failed,
    redispatched: stale.redispatched,
    ...keys,
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
