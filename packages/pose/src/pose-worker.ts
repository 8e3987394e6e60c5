// Entry point of one pool thread: its own tfjs engine and estimator. Loaded by Node directly
// (type stripping), so this file and its imports must use erasable TypeScript only.
import { parentPort, workerData } from 'node:worker_threads';

import { createPoseEstimator } from './estimator.ts';
import type { Pose } from './keypoints.ts';
import type { FromWorker, ToWorker, WorkerInit } from './pool-protocol.ts';

const port = parentPort;
if (!port) throw new Error('pose-worker.ts must run in a worker thread');

const { model } = workerData as WorkerInit;
const estimator = await createPoseEstimator({ model });
const send = (message: FromWorker) => port.postMessage(message);

// Jobs run one after another: each is a contiguous run of frames tracked from its start region.
let queue: Promise<void> = Promise.resolve();

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    queue = queue.then(() => {
      estimator.dispose();
      port.close(); // nothing else keeps the thread alive, so it exits
    });
    return;
  }
  const { jobId, frames, startRegion } = message;
  queue = queue.then(async () => {
    try {
      estimator.reset(startRegion ?? undefined);
      const poses: Pose[] = [];
      for (const frame of frames) poses.push(await estimator.estimate(frame));
      send({ type: 'result', jobId, poses });
    } catch (error) {
      send({ type: 'error', jobId, message: error instanceof Error ? error.message : String(error) });
    }
  });
});

send({ type: 'ready' });
