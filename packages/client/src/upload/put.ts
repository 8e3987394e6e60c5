import { isAbortError, StorageHttpError } from './errors.ts';
import type { RetryDecision } from './retry.ts';

export type FetchLike = typeof globalThis.fetch;

/**
 * One PUT of a Blob (the file or a slice of it). A Blob body gives fetch the
 * exact Content-Length the URL was signed for and streams from disk for a
 * Node file; a stream body would need chunked encoding, which S3 refuses.
 * Resolves with the ETag storage answered (undefined if it, or CORS, hid it).
 */
export async function putBlob(
  fetchImpl: FetchLike,
  p: { url: string; body: Blob; headers?: Record<string, string>; signal: AbortSignal; partNumber?: number },
): Promise<string | undefined> {
  const response = await fetchImpl(p.url, { method: 'PUT', headers: p.headers, body: p.body, signal: p.signal });
  // Read the (small) body either way, so the connection can be reused.
  const text = await response.text().catch(() => '');
  if (!response.ok) {
    throw new StorageHttpError(response.status, /<Code>([^<]+)<\/Code>/.exec(text)?.[1], p.partNumber);
  }
  return response.headers.get('etag') ?? undefined;
}

/** Network failures and 5xx/429 are worth another try; any other answer would repeat. */
export function decidePutRetry(error: unknown): RetryDecision {
  if (error instanceof StorageHttpError) return error.status >= 500 || error.status === 429 ? 'backoff' : 'fail';
  if (isAbortError(error)) return 'fail';
  // The file changed or vanished under us (Node's file-backed Blob): no retry reads it back.
  if (error instanceof Error && error.cause instanceof Error && error.cause.name === 'NotReadableError') return 'fail';
  // fetch rejects with a TypeError for DNS, connection and reset failures.
  return 'backoff';
}
