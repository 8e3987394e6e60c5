import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { ObjectChangedError, type ObjectStorage } from '@coach/aws';
import { jobFailure } from '@coach/jobs';
import {
  FrameTooLargeError,
  MediaToolError,
  NotAVideoError,
  probeVideo,
  SNIFF_BYTES,
  sniffContainer,
  type VideoProbe,
} from '@coach/media';

import { PermanentAnalysisError } from '../errors.ts';
import type { AnalysisCaps } from './caps.ts';

/** Fetches exactly the version upload.complete verified (by ETag), never a later replacement. */
export async function download(
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
export async function inspect(file: string, signal: AbortSignal, caps: AnalysisCaps): Promise<VideoProbe> {
  try {
    return await probeVideo(file, { signal, limits: caps.media });
  } catch (error) {
    if (error instanceof NotAVideoError) throw new PermanentAnalysisError(error.code, error.message, { cause: error });
    throw asCapFailure(error);
  }
}

/** A media limit hit while probing or decoding is a property of the file: a permanent failure. */
export function asCapFailure(error: unknown): unknown {
  if (error instanceof FrameTooLargeError) {
    return PermanentAnalysisError.of(jobFailure.resolutionTooHigh(error.width, error.height, error.maxPixels));
  }
  if (error instanceof MediaToolError && error.code === 'MEMORY_LIMIT')
    return PermanentAnalysisError.of(jobFailure.memoryLimit());
  return error;
}
