import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

import { steadyCropRegion, trackingRegionAfter } from './crop.ts';
import { assertRgbFrame, type RgbFrame } from './frame.ts';
import type { CropRegion, Pose } from './keypoints.ts';
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
   * Where to look in the first frame, when a long clip is sent in chunks: `trackingRegionAfter`
   * the previous chunk's last pose, so the same person is followed. Without it the first frame
   * is searched whole (the start of a clip).
   */
  startRegion?: CropRegion;
}

export interface PosePool {
  readonly model: MoveNetModelName;
  readonly threads: number;
  /**
   * Estimates the poses of one clip's frames, in order, returning them in the same order.
   * The frames are split into one contiguous segment per thread, every segment starting from
   * `startRegion` on the guess that the person has not moved out of it. A segment whose guess
   * is not where the previous segment's tracking ended (beyond `CROP_DEADBAND`) is redone from
   * there, so the clip is tracked as one run would track it: one person, no restarts. Frames are copied to the threads, so
   * the caller keeps its buffers.
   */
  estimate(frames: readonly RgbFrame[], options?: PoolEstimateOptions): Promise<Pose[]>;
  /** Segments re-estimated because the guessed start region held someone else: the cost of guessing. */
  readonly redoneSegments: number;
  /** Stops the threads; pending calls are rejected. */
  close(): Promise<void>;
  /** Set once a thread crashed or exited: the pool is broken for good and must be replaced. */
  readonly failure: Error | undefined;
}

/**
 * A thread's JavaScript makes little garbage that lives (tfjs' graph walk, poses); what it handles
 * is frames, which live outside the heap. V8's default young generation still grew to ~30 MiB per
 * thread; at 4 MiB the bench's peak RSS fell ~40-50 MiB with two threads for the same CPU.
 */
const THREAD_YOUNG_GENERATION_MB = 4;

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
  let redoneSegments = 0;

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
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
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

  function run(thread: PoolThread, frames: RgbFrame[], startRegion: CropRegion | null): Promise<Pose[]> {
    const jobId = nextJobId++;
    return new Promise<Pose[]>((resolve, reject) => {
      thread.pending.set(jobId, { resolve, reject });
      thread.worker.postMessage({ type: 'estimate', jobId, frames, startRegion } satisfies ToWorker);
    });
  }

  const threadAt = (i: number) => {
    const thread = pool[i % pool.length];
    if (!thread) throw new Error('Pool has no threads');
    return thread;
  };

  async function estimateFrom(frames: readonly RgbFrame[], startRegion: CropRegion): Promise<Pose[]> {
    const segments = splitSegments(frames.length, threads);
    const results = await Promise.all(
      segments.map(({ start, end }, i) => run(threadAt(i), frames.slice(start, end), startRegion)),
    );
    for (let i = 1; i < segments.length; i++) {
      const before = results[i - 1]?.at(-1);
      const first = results[i]?.[0];
      const segment = segments[i];
      if (!before || !first || !segment || !needsRedo(before, first)) continue;
      results[i] = await run(threadAt(i), frames.slice(segment.start, segment.end), trackingRegionAfter(before));
      redoneSegments++;
    }
    return results.flat();
  }

  return {
    model,
    threads,
    async estimate(frames, { startRegion } = {}) {
      if (closing) throw new Error('PosePool closed');
      if (failure) throw failure;
      frames.forEach(assertRgbFrame);
      const [first] = frames;
      if (!first) return [];
      if (!startRegion) {
        // The start of a clip: pick the person on the first frame alone, so every segment
        // starts from them rather than from its own whole-frame search.
        const [found] = await run(threadAt(0), [first], null);
        if (!found) throw new Error('Pose worker returned no pose');
        return [found, ...(await estimateFrom(frames.slice(1), trackingRegionAfter(found)))];
      }
      return estimateFrom(frames, startRegion);
    },
    get redoneSegments() {
      return redoneSegments;
    },
    close,
    get failure() {
      return failure;
    },
  };
}

/**
 * Whether a segment that started from a guessed region must be redone: a single run would have
 * looked elsewhere for its first frame (the guess is outside the crop's deadband).
 */
function needsRedo(before: Pose, first: Pose): boolean {
  const expected = trackingRegionAfter(before);
  return steadyCropRegion(expected, first.cropRegion) !== expected;
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
