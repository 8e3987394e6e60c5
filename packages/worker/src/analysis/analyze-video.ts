import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { ObjectChangedError, type ObjectStorage } from '@coach/aws';
import { framesPrefix as framesPrefixOf, jobFailure, metricsKey as metricsKeyOf, type AnalysisResult } from '@coach/jobs';
import {
  DEFAULT_MEDIA_LIMITS,
  extractFrames,
  FrameTooLargeError,
  MediaToolError,
  NotAVideoError,
  probeVideo,
  sniffContainer,
  SNIFF_BYTES,
  type VideoFrame,
  type VideoProbe,
} from '@coach/media';
import { computeFrameMetrics, summarizeMetrics, type FrameMetrics, type Pose, type PosePool } from '@coach/pose';

import { PermanentAnalysisError } from '../errors.ts';
import type { AnalysisInput, VideoAnalyzer } from '../process-job.ts';
import { checkCaps, type AnalysisCaps } from './caps.ts';
import { createFrameStore, type FrameStore } from './frame-store.ts';
import { workDirPrefix } from './work-dirs.ts';

export interface VideoAnalyzerOptions {
  storage: ObjectStorage;
  pose: PosePool;
  /** Recorded on every result, so metrics can be traced to the model that made them. */
  model: { name: string; version: string };
  /** Longest side frames are scaled to before pose estimation. */
  maxDimension?: number;
  /** Frames sent to the pose pool per call: bounds memory for long clips. */
  chunkSize?: number;
  /** What one video may cost; `DEFAULT_ANALYSIS_CAPS` when omitted. */
  caps?: AnalysisCaps;
  /** Where downloads are kept while analysed (`analysis-<pid>-*` folders); the system temp dir by default. */
  workDir?: string;
}

/** Below this mean keypoint score in every frame, nobody is in the video. */
const PERSON_FOUND_SCORE = 0.25;

/**
 * Download → container sniff → ffprobe → frames at the job's fps → pose per
 * frame → metrics → artefacts under the video's prefix (fixed keys, so a rerun
 * overwrites) → a summary for the job row.
 */
export function createVideoAnalyzer(options: VideoAnalyzerOptions): VideoAnalyzer {
  const maxDimension = options.maxDimension ?? 640;
  const chunkSize = options.chunkSize ?? 32;
  const caps = options.caps ?? DEFAULT_ANALYSIS_CAPS;

  return async ({ job, signal, reportProgress }: AnalysisInput) => {
    const timings: Record<string, number> = {};
    const started = performance.now();
    const lap = (name: string, since: number) => (timings[name] = Math.round(performance.now() - since));
    const dir = await mkdtemp(path.join(options.workDir ?? os.tmpdir(), workDirPrefix()));
    let frameStore: FrameStore | undefined;
    try {
      const file = path.join(dir, 'video');
      let t = performance.now();
      await download(options.storage, job, file, signal);
      lap('downloadMs', t);

      t = performance.now();
      const probe = await inspect(file, signal, caps);
      lap('probeMs', t);
      checkCaps(probe, job.sampleFps, caps);

      const framesPrefix = job.includeFrames ? framesPrefixOf(job.s3Key) : null;
      if (framesPrefix) frameStore = createFrameStore({ storage: options.storage, prefix: framesPrefix, limits: caps.media });
      const expected = Math.max(1, Math.ceil(probe.durationSeconds * job.sampleFps));
      const records: FrameRecord[] = [];
      let chunk: VideoFrame[] = [];
      let previous: VideoFrame | undefined;
      let poseMs = 0;
      let storeMs = 0;

      const flush = async () => {
        if (chunk.length === 0) return;
        signal.throwIfAborted();
        const lapStart = performance.now();
        const poses = await options.pose.estimate(chunk, previous ? { previousFrame: previous } : {});
        poseMs += performance.now() - lapStart;
        for (const [i, frame] of chunk.entries()) {
          const pose = poses[i];
          if (!pose) throw new Error(`pose pool returned ${poses.length} poses for ${chunk.length} frames`);
          records.push(toRecord(frame, pose));
        }
        previous = chunk.at(-1);
        chunk = [];
        await reportProgress(records.length, Math.max(expected, records.length));
      };

      t = performance.now();
      // A timestamp jump can make ffmpeg's fps filter pad with duplicates; never analyse past the expected count.
      const maxFrames = Math.min(Math.ceil(expected * 1.2) + 10, caps.maxAnalysedFrames);
      try {
        for await (const frame of extractFrames(file, { fps: job.sampleFps, maxDimension, signal, probe, limits: caps.media })) {
          if (records.length + chunk.length >= maxFrames) break;
          // Encoded while the pose threads work on its chunk, not after.
          const storeStarted = performance.now();
          await frameStore?.add(frame);
          storeMs += performance.now() - storeStarted;
          chunk.push(frame);
          if (chunk.length >= chunkSize) await flush();
        }
      } catch (error) {
        throw asCapFailure(error);
      }
      await flush();
      const storeStarted = performance.now();
      await frameStore?.finish();
      storeMs += performance.now() - storeStarted;
      lap('framesMs', t);
      timings.poseMs = Math.round(poseMs);
      timings.frameStoreMs = Math.round(storeMs);

      records.sort((a, b) => a.index - b.index);
      if (records.length === 0) {
        throw PermanentAnalysisError.of(jobFailure.noFrames());
      }
      if (!records.some((r) => r.poseScore >= PERSON_FOUND_SCORE)) {
        throw PermanentAnalysisError.of(jobFailure.noPersonFound());
      }
      const summary = summarizeMetrics(records.map((r) => r.metrics));

      const metricsKey = metricsKeyOf(job.s3Key);
      t = performance.now();
      await options.storage.putObject(
        metricsKey,
        JSON.stringify({
          schemaVersion: 1,
          jobId: job.id,
          model: options.model,
          sampleFps: job.sampleFps,
          video: videoSummary(probe),
          summary,
          frames: records,
        }),
        'application/json',
      );
      lap('metricsStoreMs', t);
      timings.totalMs = Math.round(performance.now() - started);

      const result: AnalysisResult = {
        schemaVersion: 1,
        model: options.model,
        video: videoSummary(probe),
        sampleFps: job.sampleFps,
        frameCount: records.length,
        reliableFrameCount: summary.reliableFrameCount,
        reliable: summary.reliable,
        metrics: summary.metrics,
        headStability: summary.headStability,
        frontSide: summary.frontSide,
        timingsMs: timings,
        artifacts: { metricsKey, framesPrefix },
      };
      return result;
    } finally {
      await frameStore?.abort();
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** Defaults for real phone video; the worker's settings pass their own. */
export const DEFAULT_ANALYSIS_CAPS: AnalysisCaps = {
  maxDurationSeconds: 30 * 60,
  maxSourceFps: 240,
  maxSourceFrames: 54_000,
  maxAnalysedFrames: 18_000,
  media: DEFAULT_MEDIA_LIMITS,
};

/** A media limit hit while probing or decoding is a property of the file: a permanent failure. */
function asCapFailure(error: unknown): unknown {
  if (error instanceof FrameTooLargeError) {
    return PermanentAnalysisError.of(jobFailure.resolutionTooHigh(error.width, error.height, error.maxPixels));
  }
  if (error instanceof MediaToolError && error.code === 'MEMORY_LIMIT') return PermanentAnalysisError.of(jobFailure.memoryLimit());
  return error;
}

interface FrameRecord {
  index: number;
  timestampSeconds: number;
  poseScore: number;
  keypoints: { name: string; x: number; y: number; score: number }[];
  metrics: FrameMetrics;
}

function toRecord(frame: VideoFrame, pose: Pose): FrameRecord {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  return {
    index: frame.index,
    timestampSeconds: round(frame.timestampSeconds, 3),
    poseScore: round(pose.score, 3),
    // Pixel coordinates in the analysed frame (frame.width × frame.height).
    keypoints: pose.keypoints.map((k) => ({ name: k.name, x: round(k.x, 1), y: round(k.y, 1), score: round(k.score, 3) })),
    metrics: computeFrameMetrics(pose),
  };
}

function videoSummary(probe: VideoProbe) {
  return {
    durationSeconds: probe.durationSeconds,
    width: probe.displayWidth,
    height: probe.displayHeight,
    rotation: probe.rotation,
    codec: probe.codec,
  };
}

/** Fetches exactly the version upload.complete verified (by ETag), never a later replacement. */
async function download(
  storage: ObjectStorage,
  job: { s3Key: string; etag: string | null },
  file: string,
  signal: AbortSignal,
): Promise<void> {
  let body;
  try {
    body = await storage.getStream(job.s3Key, job.etag ? { ifMatch: job.etag } : {});
  } catch (error) {
    if (error instanceof ObjectChangedError) {
      throw PermanentAnalysisError.of(jobFailure.videoChanged(), { cause: error });
    }
    throw error;
  }
  if (!body) {
    throw PermanentAnalysisError.of(jobFailure.videoMissing());
  }
  await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), rejectNonVideo, createWriteStream(file), { signal });
}

/**
 * Passes the download through once its first bytes look like a video
 * container; anything else stops the download there (a renamed 2 GB file
 * costs its first chunk, not 2 GB of transfer and disk).
 */
async function* rejectNonVideo(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let head = Buffer.alloc(0);
  let isChecked = false;
  for await (const chunk of source) {
    if (isChecked) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < SNIFF_BYTES) continue;
    checkContainer(head);
    isChecked = true;
    yield head;
  }
  if (!isChecked) {
    checkContainer(head);
    yield head;
  }
}

function checkContainer(head: Uint8Array): void {
  if (!sniffContainer(head.subarray(0, SNIFF_BYTES))) {
    throw PermanentAnalysisError.of(jobFailure.notAVideo());
  }
}

/** ffprobe on a file whose first bytes were already checked: not a video, or over a media cap, is permanent. */
async function inspect(file: string, signal: AbortSignal, caps: AnalysisCaps): Promise<VideoProbe> {
  try {
    return await probeVideo(file, { signal, limits: caps.media });
  } catch (error) {
    if (error instanceof NotAVideoError) throw new PermanentAnalysisError(error.code, error.message, { cause: error });
    throw asCapFailure(error);
  }
}

