import type { ObjectStorage } from '@coach/aws';
import { frameKey } from '@coach/jobs';
import type { VideoFrame } from '@coach/media';

/** Stores a job's frames as JPEGs under one prefix; the JPEGs come from the ffmpeg that extracts the frames. */
export interface FrameStore {
  /** The JPEG quality to ask `extractFrames` for. */
  readonly jpegQuality: number;
  /** Queues one frame's JPEG for storage; waits only when too many are still being uploaded. */
  add(frame: VideoFrame): Promise<void>;
  /** Waits for every queued frame to be stored; throws the first failure. */
  finish(): Promise<void>;
  /** Waits for the uploads still in flight, whatever their outcome: after a failure, none outlives the job. */
  settle(): Promise<void>;
}

/** Uploads in flight at once: bounds memory (~30 KiB per JPEG) and the connections to S3. */
const MAX_IN_FLIGHT = 32;
const JPEG_QUALITY = 80;

export function createFrameStore(options: {
  storage: ObjectStorage;
  prefix: string;
  /** Once aborted (the job was deleted, its lease lost, the worker stopping), no queued frame is stored any more. */
  signal: AbortSignal;
}): FrameStore {
  const inFlight: Promise<void>[] = [];

  // Given the JPEG alone, so an upload in flight does not keep the frame's pixels alive.
  const store = async (index: number, jpeg: Buffer) => {
    options.signal.throwIfAborted();
    await options.storage.putObject(frameKey(options.prefix, index), jpeg, 'image/jpeg');
  };

  return {
    jpegQuality: JPEG_QUALITY,
    async add({ index, jpeg }) {
      const stored = jpeg
        ? store(index, jpeg)
        : Promise.reject(new Error(`frame ${index} has no JPEG: extract frames with the store's jpegQuality`));
      // Handled here so a failure waits, unreported, for finish() to throw it.
      stored.catch(() => {});
      inFlight.push(stored);
      if (inFlight.length > MAX_IN_FLIGHT) await inFlight.shift();
    },
    async finish() {
      // Not emptied here: after a failure, `settle` still waits for the uploads left running.
      await Promise.all(inFlight);
    },
    async settle() {
      await Promise.allSettled(inFlight.splice(0));
    },
  };
}
