import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

import { assertRgbFrame, type RgbFrame } from './frame.ts';
import type { Pose } from './keypoints.ts';
import type { MoveNetModelName } from './models.ts';
import type { FromWorker, ToWorker, WorkerInit } from './pool-protocol.ts';
import { POSE_WORKER_URL } from './shipped-files.ts';

export interface PosePoolOptions {
  model: MoveNetModelName;
  /** Worker threads, each with its own copy of the model (default: the machine's core count). */
  threads?: number;
}

export interface PoolEstimateOptions {
  /**
   * The frame just before `frames` in the same clip, when a long clip is sent in chunks: it
   * seeds the first segment's tracking as the segments' neighbours seed the others. Without
   * it the first frame is treated as the start of a clip.
   */
  previousFrame?: RgbFrame;
}

export interface PosePool {
  readonly model: MoveNetModelName;
  readonly threads: number;
  /**
   * Estimates the poses of one clip's frames, in order, returning them in the same order.
   * The frames are split into one contiguous segment per thread so tracking stays coherent
   * within each; a segment first estimates (and discards) the frame before it to seed its
   * crop. Frames are copied to the threads, so the caller keeps its buffers.
   */
  estimate(frames: readonly RgbFrame[], options?: PoolEstimateOptions): Promise<Pose[]>;
  /** Stops the threads; pending calls are rejected. */
  close(): Promise<void>;
  /** Set once a thread crashed or exited: the pool is broken for good and must be replaced. */
  readonly failure: Error | undefined;
}

/** How long a thread gets to dispose its model after `close()` before it is terminated. */
const CLOSE_GRACE_MS = 5_000;

interface Pending {
  resolve: (poses: Pose[]) => void;
  reject: (error: Error) => void;
}

interface PoolThread {
  worker: Worker;
  pending: Map<number, Pending>;
  exited: Promise<void>;
}

/** A worker_threads pool of MoveNet estimators: the way to use more than one core. */
export async function createPosePool({ model, threads = availableParallelism() }: PosePoolOptions): Promise<PosePool> {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);

  let closing: Promise<void> | undefined;
  let failure: Error | undefined;
  let nextJobId = 1;

  const fail = (error: Error) => {
    failure ??= error;
    for (const thread of pool) {
      for (const job of thread.pending.values()) job.reject(error);
      thread.pending.clear();
    }
  };

  const pool: PoolThread[] = [];
  const startups: Promise<void>[] = [];
  for (let i = 0; i < threads; i++) {
    const worker = new Worker(POSE_WORKER_URL, {
      workerData: { model } satisfies WorkerInit,
    });
    const pending = new Map<number, Pending>();
    let markReady: () => void = () => undefined;
    let markFailed: (error: Error) => void = () => undefined;
    startups.push(
      new Promise<void>((resolve, reject) => {
        markReady = resolve;
        markFailed = reject;
      }),
    );
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') return markReady();
      const job = pending.get(message.jobId);
      if (!job) return;
      pending.delete(message.jobId);
      if (message.type === 'result') job.resolve(message.poses);
      else job.reject(new Error(`Pose worker failed: ${message.message}`));
    });
    worker.on('error', (error) => {
      const wrapped = new Error(`Pose worker crashed: ${error.message}`, { cause: error });
      markFailed(wrapped);
      fail(wrapped);
    });
    const exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        const error = new Error(`Pose worker exited (code ${code})`);
        markFailed(error);
        if (!closing) fail(error);
        else for (const job of pending.values()) job.reject(new Error('PosePool closed'));
        pending.clear();
        resolve();
      });
    });
    pool.push({ worker, pending, exited });
  }

  async function close(): Promise<void> {
    closing ??= (async () => {
      for (const { worker } of pool) worker.postMessage({ type: 'close' } satisfies ToWorker);
      await Promise.all(
        pool.map(async ({ worker, exited }) => {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), CLOSE_GRACE_MS);
          });
          const outcome = await Promise.race([exited, timedOut]);
          clearTimeout(timer);
          if (outcome === 'timeout') await worker.terminate();
        }),
      );
    })();
    return closing;
  }

  try {
    await Promise.all(startups);
  } catch (error) {
    await Promise.all(pool.map(({ worker }) => worker.terminate()));
    throw error;
  }

  function run(thread: PoolThread, frames: RgbFrame[], primer: RgbFrame | null): Promise<Pose[]> {
    const jobId = nextJobId++;
    return new Promise<Pose[]>((resolve, reject) => {
      thread.pending.set(jobId, { resolve, reject });
      thread.worker.postMessage({ type: 'estimate', jobId, frames, primer } satisfies ToWorker);
    });
  }

  return {
    model,
    threads,
    async estimate(frames, { previousFrame } = {}) {
      if (closing) throw new Error('PosePool closed');
      if (failure) throw failure;
      frames.forEach(assertRgbFrame);
      if (previousFrame) assertRgbFrame(previousFrame);
      const segments = splitSegments(frames.length, threads);
      const results = await Promise.all(
        segments.map(({ start, end }, i) => {
          const thread = pool[i];
          if (!thread) throw new Error('More segments than threads');
          const primer = start > 0 ? frames[start - 1] : previousFrame;
          return run(thread, frames.slice(start, end), primer ?? null);
        }),
      );
      return results.flat();
    },
    close,
    get failure() {
      return failure;
    },
  };
}

/** Splits `count` items into at most `parts` contiguous, near-equal, non-empty ranges. */
export function splitSegments(count: number, parts: number): { start: number; end: number }[] {
  const n = Math.min(count, parts);
  const segments: { start: number; end: number }[] = [];
  for (let i = 0; i < n; i++) {
    segments.push({ start: Math.floor((i * count) / n), end: Math.floor(((i + 1) * count) / n) });
  }
  return segments;
}
