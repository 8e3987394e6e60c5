import { extractFrames, type VideoFrame, type VideoProbe } from '@coach/media';
import { createTrackLabeller, regionAround, trackingRegionAfter, type ClipSample, type PosePool } from '@coach/pose';

import type { AnalysisCaps } from './caps.ts';
import { asCapFailure } from './fetch-video.ts';
import type { FrameStore } from './frame-store.ts';

export interface PosePassOptions {
  file: string;
  sampleFps: number;
  probe: VideoProbe;
  pose: PosePool;
  /** Stores each frame's JPEG (encoded by the extracting ffmpeg) while the pose threads work, when frames were asked for. */
  frameStore: FrameStore | undefined;
  caps: AnalysisCaps;
  maxDimension: number;
  chunkSize: number;
  /** Where the coach tapped the player on the first frame (0..1); the most prominent person when undefined. */
  subjectHint: { x: number; y: number } | undefined;
  signal: AbortSignal;
  reportProgress: (done: number, total: number) => Promise<void>;
}

/**
 * Streams frames at the job's fps through the pose pool a chunk at a time
 * (bounding memory for long clips), reporting progress per chunk. Each chunk
 * starts where the previous one's tracking left off, so one person is followed
 * through the clip, and every pose is labelled with the track (person) it
 * belongs to. Returns the samples in frame order and the time spent on poses
 * and stored frames.
 */
export async function runPosePass(o: PosePassOptions): Promise<{ samples: ClipSample[]; poseMs: number; storeMs: number }> {
  const expected = Math.max(1, Math.ceil(o.probe.durationSeconds * o.sampleFps));
  const samples: ClipSample[] = [];
  const tracks = createTrackLabeller();
  let chunk: VideoFrame[] = [];
  let poseMs = 0;
  let storeMs = 0;

  const flush = async (frames: VideoFrame[]) => {
    if (frames.length === 0) return;
    o.signal.throwIfAborted();
    const lapStart = performance.now();
    const last = samples.at(-1);
    const [first] = frames;
    const startRegion = last
      ? trackingRegionAfter(last.pose)
      : o.subjectHint && first
        ? regionAround(o.subjectHint, first.width, first.height)
        : undefined;
    const poses = await o.pose.estimate(frames, startRegion ? { startRegion } : {});
    poseMs += performance.now() - lapStart;
    for (const [i, frame] of frames.entries()) {
      const pose = poses[i];
      if (!pose) throw new Error(`pose pool returned ${poses.length} poses for ${frames.length} frames`);
      samples.push({ index: frame.index, timestampSeconds: frame.timestampSeconds, pose, track: tracks.next(pose) });
    }
    await o.reportProgress(samples.length, Math.max(expected, samples.length));
  };

  // A timestamp jump can make ffmpeg's fps filter pad with duplicates; never analyse past the expected count.
  const maxFrames = Math.min(Math.ceil(expected * 1.2) + 10, o.caps.maxAnalysedFrames);
  // The chunk the pose threads are working on. Its successor is decoded meanwhile, instead of the
  // threads waiting for ffmpeg between chunks; it starts once this one's last pose is known.
  let posing: Promise<void> = Promise.resolve();
  try {
    const decoded = extractFrames(o.file, {
      fps: o.sampleFps,
      maxDimension: o.maxDimension,
      signal: o.signal,
      probe: o.probe,
      limits: o.caps.media,
      jpegQuality: o.frameStore?.jpegQuality,
    });
    for await (const frame of decoded) {
      if (frame.index >= maxFrames) break;
      // Uploaded while the pose threads work on its chunk, not after.
      const storeStarted = performance.now();
      await o.frameStore?.add(frame);
      storeMs += performance.now() - storeStarted;
      chunk.push(frame);
      if (chunk.length >= o.chunkSize) {
        const full = chunk;
        chunk = [];
        await posing;
        posing = flush(full);
        // Awaited before the next chunk starts or the pass ends; never unhandled meanwhile.
        posing.catch(() => {});
      }
    }
  } catch (error) {
    // The pool is free again (and nothing reports progress) before the failure leaves the pass.
    await posing.catch(() => {});
    throw asCapFailure(error);
  }
  await posing;
  await flush(chunk);
  const storeStarted = performance.now();
  await o.frameStore?.finish();
  storeMs += performance.now() - storeStarted;

  return { samples, poseMs, storeMs };
}
