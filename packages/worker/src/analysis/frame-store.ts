import type { ObjectStorage } from '@coach/aws';
import { frameKey } from '@coach/jobs';
import { startJpegEncoder, type JpegEncoder, type ToolLimits, type VideoFrame } from '@coach/media';

/** Stores a job's frames as JPEGs under one prefix, all encoded by one ffmpeg. */
export interface FrameStore {
  /** Queues one frame; waits only when too many are still being encoded or uploaded. */
  add(frame: VideoFrame): Promise<void>;
  /** Waits for every queued frame to be stored; throws the first failure. */
  finish(): Promise<void>;
  /** Stops the encoder without waiting for queued frames. */
  abort(): Promise<void>;
}

/** Frames held between the encoder and S3 at once: bounds memory (~30 KiB per JPEG, 691 KiB per queued 640×360 frame). */
const MAX_IN_FLIGHT = 32;
const JPEG_QUALITY = 80;

export function createFrameStore(options: {
  storage: ObjectStorage;
  prefix: string;
  limits: ToolLimits;
  /** Once aborted (the job was deleted, its lease lost, the worker stopping), no queued frame is stored any more. */
  signal: AbortSignal;
}): FrameStore {
  let encoder: Promise<JpegEncoder> | undefined;
  const inFlight: Promise<void>[] = [];

  const store = async (frame: VideoFrame) => {
    encoder ??= startJpegEncoder({ width: frame.width, height: frame.height, quality: JPEG_QUALITY, limits: options.limits });
    const jpeg = await (await encoder).encode(frame);
    options.signal.throwIfAborted();
    await options.storage.putObject(frameKey(options.prefix, frame.index), jpeg, 'image/jpeg');
  };

  return {
    async add(frame) {
      const stored = store(frame);
      // Handled here so a failure waits, unreported, for finish() to throw it.
      stored.catch(() => {});
      inFlight.push(stored);
      // ffmpeg holds the first frame until the next arrives: never wait on the newest one.
      if (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
    },
    async finish() {
      if (encoder) await (await encoder).close();
      await Promise.all(inFlight.splice(0));
    },
    async abort() {
      if (encoder) await (await encoder.catch(() => undefined))?.abort();
    },
  };
}
