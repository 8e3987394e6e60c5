import { createSqsQueue, type MessageQueue } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import { silentLogger, type Logger } from '@coach/jobs';
import { startAnalysisWorker, toWorkerSettings, WorkerSettingsSchema, type Worker, type WorkerConfig } from '@coach/worker';

import type { TestServer } from './server.ts';

export interface TestWorkerOptions {
  /** Replace the server's queue or database on the worker's side only, to inject faults there. */
  queue?: MessageQueue;
  db?: Kysely<Database>;
  /** S3 object-created notifications to consume (production's upload-events queue). */
  uploadEvents?: MessageQueue;
  /** Worker settings as the environment names them (e.g. `WORKER_SWEEP_INTERVAL_SECONDS`). */
  env?: Record<string, string>;
  config?: Partial<WorkerConfig>;
  poseThreads?: number;
  /** Where the worker logs (silent unless given), for a test that waits on what it reports. */
  logger?: Logger;
}

/**
 * The production analysis worker (real ffmpeg, real MoveNet) on a test
 * server's database, bucket and queues, with a 1 s long poll and a 1 s
 * shutdown budget so tests neither wait nor linger.
 */
export function startTestWorker(
  server: Pick<TestServer, 'db' | 'storage' | 'sqs' | 'queueUrl' | 'dlqUrl'>,
  options: TestWorkerOptions = {},
): Promise<Worker> {
  const settings = toWorkerSettings(
    WorkerSettingsSchema.parse({ POSE_THREADS: String(options.poseThreads ?? 2), ...options.env }),
  );
  settings.worker = { ...settings.worker, waitTimeSeconds: 1, shutdownBudgetMs: 1_000, ...options.config };
  return startAnalysisWorker(
    {
      db: options.db ?? server.db,
      storage: server.storage,
      queue: options.queue ?? createSqsQueue({ sqs: server.sqs, queueUrl: server.queueUrl }),
      deadLetterQueue: createSqsQueue({ sqs: server.sqs, queueUrl: server.dlqUrl }),
      uploadEvents: options.uploadEvents,
      logger: options.logger ?? silentLogger,
    },
    settings,
  );
}
