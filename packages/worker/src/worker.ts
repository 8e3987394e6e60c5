import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

import type { MessageQueue, ObjectStorage } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import { KEEP_FOREVER, type Logger, type RetentionPolicy } from '@coach/jobs';

import { startConsumer } from './consumer.ts';
import { createJobProcessor, type VideoAnalyzer } from './process-job.ts';
import { startSweeper } from './sweeper.ts';
import { createUploadEventHandler } from './upload-events/handler.ts';

export interface WorkerDeps {
  db: Kysely<Database>;
  storage: ObjectStorage;
  queue: MessageQueue;
  deadLetterQueue: MessageQueue;
  /** S3's object-created notifications for the upload prefix (production); absent, the sweeper alone completes landed uploads. */
  uploadEvents?: MessageQueue;
  analyzer: VideoAnalyzer;
  logger: Logger;
}

export interface WorkerConfig {
  /** Jobs analysed at once by this process. */
  concurrency: number;
  leaseSeconds: number;
  /** Hidden time per receive; the heartbeat renews it while a job runs. */
  visibilityTimeoutSeconds: number;
  /** Equal to the queue's redrive maxReceiveCount. */
  maxReceives: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
  waitTimeSeconds: number;
  shutdownBudgetMs: number;
  sweepIntervalMs: number;
  uploadGraceSeconds: number;
  abandonedGraceSeconds: number;
  staleQueuedSeconds: number;
  /** The API's `MAX_UPLOAD_BYTES`: a landed upload is checked against it as upload.complete checks it. */
  maxUploadBytes: number;
  /** Upload notifications handled at once (each a HEAD and a transaction, sometimes a multipart assembly). */
  uploadEventConcurrency: number;
  /** Longest one analysis may run: past it the job fails as `ANALYSIS_TIME_LIMIT`. At least `minimumJobSeconds(caps)`. */
  maxJobSeconds: number;
  /** Retention for owners without a policy of their own; the sweeper enforces it. */
  retentionDefaults: RetentionPolicy;
}

export const DEFAULT_WORKER_CONFIG: WorkerConfig = {
  concurrency: 2,
  leaseSeconds: 60,
  visibilityTimeoutSeconds: 90,
  maxReceives: 5,
  backoffBaseSeconds: 10,
  backoffMaxSeconds: 300,
  waitTimeSeconds: 20,
  shutdownBudgetMs: 20_000,
  sweepIntervalMs: 30_000,
  uploadGraceSeconds: 3_600,
  abandonedGraceSeconds: 120,
  staleQueuedSeconds: 900,
  // minimumJobSeconds(DEFAULT_ANALYSIS_CAPS), spelled out to keep this module free of the analyzer.
  maxJobSeconds: 4_787,
  maxUploadBytes: 8 * 1024 ** 3,
  uploadEventConcurrency: 4,
  retentionDefaults: KEEP_FOREVER,
};

export interface Worker {
  readonly id: string;
  /** Stops receiving, lets in-flight jobs finish within the budget, releases the rest. */
  stop(): Promise<void>;
}

export function startWorker(deps: WorkerDeps, config: WorkerConfig = DEFAULT_WORKER_CONFIG): Worker {
  const id = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const handler = createJobProcessor({
    db: deps.db,
    analyzer: deps.analyzer,
    logger: deps.logger,
    workerId: id,
    leaseSeconds: config.leaseSeconds,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    maxReceives: config.maxReceives,
    backoffBaseSeconds: config.backoffBaseSeconds,
    backoffMaxSeconds: config.backoffMaxSeconds,
    maxJobSeconds: config.maxJobSeconds,
  });
  const consumer = startConsumer({
    name: 'analysis',
    queue: deps.queue,
    deadLetterQueue: deps.deadLetterQueue,
    handler,
    logger: deps.logger,
    concurrency: config.concurrency,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    waitTimeSeconds: config.waitTimeSeconds,
    // Every analysis reads the bucket: while it is missing or refused, wait for it, not for each message.
    outageProbe: () => deps.storage.ping(),
  });
  const landed = { db: deps.db, storage: deps.storage, logger: deps.logger, maxUploadBytes: config.maxUploadBytes };
  const uploadEvents =
    deps.uploadEvents &&
    startConsumer({
      name: 'upload-events',
      queue: deps.uploadEvents,
      handler: createUploadEventHandler(landed),
      logger: deps.logger,
      concurrency: config.uploadEventConcurrency,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      waitTimeSeconds: config.waitTimeSeconds,
    });
  const sweeper = startSweeper({
    ...landed,
    intervalMs: config.sweepIntervalMs,
    uploadGraceSeconds: config.uploadGraceSeconds,
    abandonedGraceSeconds: config.abandonedGraceSeconds,
    staleQueuedSeconds: config.staleQueuedSeconds,
    maxAttempts: config.maxReceives,
    retentionDefaults: config.retentionDefaults,
  });
  deps.logger.info({ workerId: id, concurrency: config.concurrency }, 'worker started');
  return {
    id,
    async stop() {
      await sweeper.stop();
      await Promise.all([consumer.stop(config.shutdownBudgetMs), uploadEvents?.stop(config.shutdownBudgetMs)]);
      deps.logger.info({ workerId: id }, 'worker stopped');
    },
  };
}
