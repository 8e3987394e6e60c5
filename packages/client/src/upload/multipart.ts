import { TRPCClientError } from '@trpc/client';

import type { ApiClient } from '../client.ts';
import { abortError, StorageHttpError, UploadError } from './errors.ts';
import { PartRecorder } from './part-recorder.ts';
import { PartSigner } from './part-signer.ts';
import type { ProgressTracker } from './progress.ts';
import { decidePutRetry, putBlob, type FetchLike } from './put.ts';
import { withRetry, type RetryDecision, type RetryPolicy } from './retry.ts';
import type { UploadSource } from './source.ts';

export interface PartPlan {
  partSizeBytes: number;
  partCount: number;
}

/** Byte range of one part: every part is full-size except the last. */
export function partRange(plan: PartPlan, sizeBytes: number, partNumber: number): { start: number; end: number } {
  const start = (partNumber - 1) * plan.partSizeBytes;
  return { start, end: partNumber < plan.partCount ? start + plan.partSizeBytes : sizeBytes };
}

export interface SendPartsParams {
  client: ApiClient;
  jobId: string;
  source: UploadSource;
  plan: PartPlan;
  /** The parts to send, ascending (all of them, or what resume found missing): a stream is read in this order. */
  partNumbers: readonly number[];
  concurrency: number;
  policy: RetryPolicy;
  fetch: FetchLike;
  signal: AbortSignal | undefined;
  progress: ProgressTracker;
}

/**
 * Sends parts with `concurrency` PUTs in flight, lowest part numbers first,
 * and records each stored part on the server. The first part that fails for
 * good stops the rest (PUTs in flight finish); stored parts stay recorded, so a
 * resume skips them.
 *
 * Each worker reads its part before sending it and keeps the bytes until
 * storage confirmed them (for retries and re-signs), then reads the next one.
 * For a stream that bounds memory to `concurrency` parts: reading pauses until
 * a worker is free.
 */
export async function sendParts(p: SendPartsParams): Promise<void> {
  // Cancelling aborts PUTs in flight; a part failing for good only stops new parts and retries,
  // so PUTs already under way can still land and be recorded for the resume.
  const transfer = new AbortController();
  const stop = new AbortController();
  const onAbort = () => {
    transfer.abort();
    stop.abort();
  };
  p.signal?.addEventListener('abort', onAbort, { once: true });
  if (p.signal?.aborted) onAbort();

  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    stop.abort();
  };

  const queue = [...p.partNumbers];
  // Taken from the queue, not yet stored. Signed along with the queue: a stream's parts wait
  // for their turn to be read before they ask for a URL. (The signer skips fresh URLs.)
  const taken = new Set<number>();
  const signer = new PartSigner({
    client: p.client,
    jobId: p.jobId,
    batchSize: Math.min(100, 2 * p.concurrency),
    upcoming: () => [...[...taken].sort((a, b) => a - b), ...queue],
    policy: p.policy,
    signal: stop.signal,
  });
  // Only the caller's signal: when one part fails, the others' records must still land.
  const recorder = new PartRecorder({ client: p.client, jobId: p.jobId, policy: p.policy, signal: p.signal, onError: fail });

  const sendPart = (partNumber: number, body: Blob): Promise<string> => {
    const { start, end } = partRange(p.plan, p.source.size, partNumber);
    let attemptUrl: string | undefined;
    let resigned = false;
    const decide = (error: unknown): RetryDecision => {
      // Signing was retried on its own already; an UploadError is a contract problem no retry fixes.
      if (error instanceof TRPCClientError || error instanceof UploadError) return 'fail';
      if (error instanceof StorageHttpError && error.status === 403 && attemptUrl) {
        // Most likely the URL expired (a slow link, a paused app): sign it again. Right away the
        // first time; a 403 that persists is probably not expiry, so it backs off like any failure.
        signer.invalidate(partNumber, attemptUrl);
        const decision = resigned ? 'backoff' : 'now';
        resigned = true;
        return decision;
      }
      return decidePutRetry(error);
    };
    return withRetry(
      async () => {
        const signed = await signer.urlFor(partNumber);
        if (signed.sizeBytes !== end - start) {
          throw new UploadError(
            `Part ${partNumber} is signed for ${signed.sizeBytes} bytes but the file gives it ${end - start}; the upload plan does not match this file.`,
            p.jobId,
          );
        }
        attemptUrl = signed.url;
        const etag = await putBlob(p.fetch, {
          url: signed.url,
          body,
          signal: transfer.signal,
          partNumber,
        });
        if (!etag) {
          throw new UploadError(
            `Storage stored part ${partNumber} but its answer had no ETag header. A browser needs the bucket's CORS rule to expose ETag.`,
            p.jobId,
          );
        }
        return etag;
      },
      p.policy,
      decide,
      stop.signal,
    );
  };

  const worker = async () => {
    for (let partNumber = queue.shift(); partNumber !== undefined; partNumber = queue.shift()) {
      if (stop.signal.aborted) return;
      const { start, end } = partRange(p.plan, p.source.size, partNumber);
      try {
        // Called right after shift, so a stream's reads queue up in part order.
        taken.add(partNumber);
        const body = await p.source.read(start, end);
        if (stop.signal.aborted) return;
        p.progress.partStarted(partNumber, end - start);
        const etag = await sendPart(partNumber, body);
        recorder.add({ partNumber, etag });
        p.progress.partDone(partNumber, end - start);
      } catch (error) {
        fail(error);
        return;
      } finally {
        taken.delete(partNumber);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(p.concurrency, queue.length) }, worker));
    await recorder.flush().catch(fail);
  } finally {
    p.signal?.removeEventListener('abort', onAbort);
  }
  if (p.signal?.aborted) throw abortError();
  if (failure) throw failure.error;
}
