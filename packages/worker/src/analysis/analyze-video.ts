import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { ObjectChangedError, type ObjectStorage } from '@coach/aws';
import { frameKey, type AnalysisResult } from '@coach/api/messages';
import {
  encodeJpeg,
  extractFrames,
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

export interface VideoAnalyzerOptions {
  storage: ObjectStorage;
  pose: PosePool;
  /** Recorded on every result, so metrics can be traced to the model that made them. */
  model: { name: string; version: string };
  /** Longest side frames are scaled to before pose estimation. */
  maxDimension?: number;
  /** Frames sent to the pose pool per call: bounds memory for long clips. */
  chunkSize?: number;
  maxDurationSeconds?: number;
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
  const maxDuration = options.maxDurationSeconds ?? 30 * 60;

  return async ({ job, signal, reportProgress }: AnalysisInput) => {
    const timings: Record<string, number> = {};
    const started = performance.now();
    const lap = (name: string, since: number) => (timings[name] = Math.round(performance.now() - since));
    const dir = await mkdtemp(path.join(options.workDir ?? os.tmpdir(), 'analysis-'));
    try {
      const file = path.join(dir, 'video');
      let t = performance.now();
      await download(options.storage, job, file, signal);
      lap('downloadMs', t);

      t = performance.now();
      const probe = await inspect(file, signal);
      lap('probeMs', t);
      if (probe.durationSeconds > maxDuration) {
        throw new PermanentAnalysisError(
          'VIDEO_TOO_LONG',
          `The video is longer than ${maxDuration / 60} minutes, the longest we analyse. Trim it and upload again.`,
        );
      }

      const prefix = job.s3Key.slice(0, job.s3Key.lastIndexOf('/') + 1);
      const framesPrefix = job.includeFrames ? `${prefix}frames/` : null;
      const expected = Math.max(1, Math.ceil(probe.durationSeconds * job.sampleFps));
      const records: FrameRecord[] = [];
      let chunk: VideoFrame[] = [];
      let previous: VideoFrame | undefined;
      let poseMs = 0;
      let storeMs = 0;

      const flush = async () => {
        if (chunk.length === 0) return;
        signal.throwIfAborted();
        let lapStart = performance.now();
        const poses = await options.pose.estimate(chunk, previous ? { previousFrame: previous } : {});
        poseMs += performance.now() - lapStart;
        lapStart = performance.now();
        await Promise.all(
          chunk.map(async (frame, i) => {
            const pose = poses[i];
            if (!pose) throw new Error(`pose pool returned ${poses.length} poses for ${chunk.length} frames`);
            records.push(toRecord(frame, pose));
            if (framesPrefix) {
              const jpeg = await encodeJpeg(frame, { quality: 80 });
              await options.storage.putObject(frameKey(framesPrefix, frame.index), jpeg, 'image/jpeg');
            }
          }),
        );
        storeMs += performance.now() - lapStart;
        previous = chunk.at(-1);
        chunk = [];
        await reportProgress(records.length, Math.max(expected, records.length));
      };

      t = performance.now();
      // A timestamp jump can make ffmpeg's fps filter pad with duplicates; never analyse past the expected count.
      const maxFrames = Math.ceil(expected * 1.2) + 10;
      for await (const frame of extractFrames(file, { fps: job.sampleFps, maxDimension, signal, probe })) {
        if (records.length + chunk.length >= maxFrames) break;
        chunk.push(frame);
        if (chunk.length >= chunkSize) await flush();
      }
      await flush();
      lap('framesMs', t);
      timings.poseMs = Math.round(poseMs);
      timings.frameStoreMs = Math.round(storeMs);

      records.sort((a, b) => a.index - b.index);
      if (records.length === 0) {
        throw new PermanentAnalysisError('UNREADABLE_VIDEO', 'No frames could be read from this video. Please upload it again.');
      }
      if (!records.some((r) => r.poseScore >= PERSON_FOUND_SCORE)) {
        throw new PermanentAnalysisError(
          'NO_PERSON_FOUND',
          'We could not find a person in this video. Film the player from head to toe in good light and upload again.',
        );
      }
      const summary = summarizeMetrics(records.map((r) => r.metrics));

      const metricsKey = `${prefix}analysis/metrics.json`;
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
      await rm(dir, { recursive: true, force: true });
    }
  };
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
      throw new PermanentAnalysisError(
        'VIDEO_CHANGED',
        'The stored video changed after its upload was confirmed, so it was not analysed. Please upload it again.',
        { cause: error },
      );
    }
    throw error;
  }
  if (!body) {
    throw new PermanentAnalysisError('VIDEO_MISSING', 'The uploaded video is no longer in storage. Please upload it again.');
  }
  await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), createWriteStream(file), { signal });
}

/** Rejects what is not a video before any heavy work: magic bytes first, then ffprobe. */
async function inspect(file: string, signal: AbortSignal): Promise<VideoProbe> {
  const handle = await open(file, 'r');
  const head = new Uint8Array(SNIFF_BYTES);
  let read: number;
  try {
    ({ bytesRead: read } = await handle.read(head, 0, SNIFF_BYTES, 0));
  } finally {
    await handle.close();
  }
  if (!sniffContainer(head.subarray(0, read))) {
    throw new PermanentAnalysisError(
      'NOT_A_VIDEO',
      'This file is not a video we can read. Upload an MP4, MOV, WebM or 3GP video.',
    );
  }
  try {
    return await probeVideo(file, { signal });
  } catch (error) {
    if (error instanceof NotAVideoError) throw new PermanentAnalysisError(error.code, error.message, { cause: error });
    throw error;
  }
}

