import { StorageHttpError } from './errors.ts';
import { decidePutRetry, putBlob, type FetchLike } from './put.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

/**
 * The whole file in one PUT, with the headers the URL was signed for. A 403
 * is not retried: a single-PUT URL cannot be re-signed, and `upload.complete`
 * would report the upload as expired.
 */
export async function sendSingle(p: {
  url: string;
  headers: Record<string, string>;
  blob: Blob;
  policy: RetryPolicy;
  fetch: FetchLike;
  signal: AbortSignal | undefined;
  /** A repeated initiate's fresh URL for a PUT an earlier run may have sent already. */
  isRepeat: boolean;
}): Promise<void> {
  // fetch needs a signal to cancel; an upload without one never aborts.
  const signal = p.signal ?? new AbortController().signal;
  await withRetry(
    async (attempt) => {
      try {
        await putBlob(p.fetch, { url: p.url, headers: p.headers, body: p.blob, signal });
      } catch (error) {
        // The URL is create-only (If-None-Match: *). A 412 on a retry, or on a repeat of an upload
        // (a reload, another device), means an earlier attempt stored the file and only its answer
        // was lost; upload.complete verifies what is stored.
        if ((attempt > 0 || p.isRepeat) && error instanceof StorageHttpError && error.status === 412) return;
        throw error;
      }
    },
    p.policy,
    decidePutRetry,
    p.signal,
  );
}
