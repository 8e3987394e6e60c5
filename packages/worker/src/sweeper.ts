import type { ObjectStorage } from '@coach/aws';
import { discardUpload, keyWritableUntil, moveJob, type Logger } from '@coach/api';
import { buildAnalysisJobMessage } from '@coach/api/messages';
import {
  findAbandonedJobs,
  findExpiredUploads,
  findStaleQueuedJobs,
  insertOutboxMessage,
  sql,
  updateLeasedJob,
  type Database,
  type Kysely,
} from '@coach/db';

import { retriesExhausted } from './errors.ts';
import { sweepWatchedKeys, type KeyWatchReport } from './orphan-keys.ts';

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

/** One pass of housekeeping; every step is a conditional update, so passes may overlap safely. */
export async function sweepOnce(options: SweeperOptions): Promise<SweepReport> {
  const { db, storage, logger } = options;
  const limit = options.batchSize ?? 100;
  const report: SweepReport = { expired: 0, requeued: 0, failed: 0, redispatched: 0, keysChecked: 0, orphansRemoved: 0, watchesEnded: 0 };

  for (const job of await findExpiredUploads(db, { graceSeconds: options.uploadGraceSeconds, limit })) {
    const now = new Date();
    const expired = await moveJob(db, {
      jobId: job.id,
      from: 'awaiting_upload',
      to: 'expired',
      set: {
        errorCode: 'UPLOAD_EXPIRED',
        errorMessage: 'The upload link expired before the video arrived. Start a new upload.',
        finishedAt: now,
        keyWritableUntil: keyWritableUntil(job, now),
      },
    });
    if (!expired) continue;
    report.expired += 1;
    // Parts or a PUT that finished after the deadline would otherwise be stored forever.
    await discardUpload(storage, job).catch((error: unknown) => {
      logger.warn({ err: error, jobId: job.id }, 'could not discard an expired upload');
    });
  }

  for (const job of await findAbandonedJobs(db, { graceSeconds: options.abandonedGraceSeconds, limit })) {
    const leaseToken = job.leaseToken;
    if (!leaseToken) continue;
    if (job.attempts >= options.maxAttempts) {
      const failed = await updateLeasedJob(db, {
        jobId: job.id,
        leaseToken,
        lapsedForSeconds: options.abandonedGraceSeconds,
        to: 'failed',
        release: true,
        set: retriesExhausted(job.attempts),
      });
      if (failed) report.failed += 1;
      continue;
    }
    const requeued = await db.transaction().execute(async (trx) => {
      const row = await updateLeasedJob(trx, {
        jobId: job.id,
        leaseToken,
        lapsedForSeconds: options.abandonedGraceSeconds,
        to: 'queued',
        release: true,
      });
      if (row) {
        await insertOutboxMessage(trx, {
          dedupeKey: `analysis:${row.id}:retry:${row.attempts}`,
          jobId: row.id,
          payload: buildAnalysisJobMessage(row),
        });
      }
      return row;
    });
    if (requeued) {
      report.requeued += 1;
      logger.warn({ jobId: job.id, attempts: job.attempts }, 'abandoned job re-queued');
    }
  }

  for (const job of await findStaleQueuedJobs(db, { staleSeconds: options.staleQueuedSeconds, limit })) {
    if (job.attempts >= options.maxAttempts) {
      // Its last message was dead-lettered (or lost): no more redispatches.
      const failed = await moveJob(db, {
        jobId: job.id,
        from: 'queued',
        to: 'failed',
        set: retriesExhausted(job.attempts),
      });
      if (failed) report.failed += 1;
      continue;
    }
    const redispatched = await db.transaction().execute(async (trx) => {
      // Only when every message so far went out: an unsent one is still the relay's to deliver.
      const pending = await trx
        .selectFrom('outboxMessages')
        .select('id')
        .where('jobId', '=', job.id)
        .where('sentAt', 'is', null)
        .executeTakeFirst();
      if (pending) return false;
      const touched = await trx
        .updateTable('videoAnalysisJobs')
        .set({ updatedAt: sql<Date>`now()` })
        .where('id', '=', job.id)
        .where('status', '=', 'queued')
        // Re-check staleness here: another sweeper may have just redispatched it.
        .where('updatedAt', '<', sql<Date>`now() - make_interval(secs => ${options.staleQueuedSeconds})`)
        .returning('id')
        .executeTakeFirst();
      if (!touched) return false;
      const { count } = await trx
        .selectFrom('outboxMessages')
        .select((eb) => eb.fn.countAll<string>().as('count'))
        .where('jobId', '=', job.id)
        .executeTakeFirstOrThrow();
      await insertOutboxMessage(trx, {
        dedupeKey: `analysis:${job.id}:redispatch:${count}`,
        jobId: job.id,
        payload: buildAnalysisJobMessage(job),
      });
      return true;
    });
    if (redispatched) {
      report.redispatched += 1;
      logger.warn({ jobId: job.id }, 'queued job had no live message; sent another');
    }
  }

  // After the expiries above, so a job expired in this pass is checked in it too.
  Object.assign(report, await sweepWatchedKeys({ db, storage, logger, uploadGraceSeconds: options.uploadGraceSeconds, limit }));
  return report;
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
