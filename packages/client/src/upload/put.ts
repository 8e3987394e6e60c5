// Under Node, a file path's range is PUT with node:http from reused buffers; never called in browsers.
import { putFileRange } from '#node-file';

import { isAbortError, StorageHttpError } from './errors.ts';
import type { RetryDecision } from './retry.ts';
import { fileRangeOf } from './source.ts';

export type FetchLike = typeof globalThis.fetch;

/**
 * The fetch used when the caller gives none. Called as a method, so a polyfill
 * that needs its global as `this` still works; compared by identity, so a
 * file path's parts take the memory-flat Node PUT only when no fetch was given
 * (a given fetch, an app's or a test's, sees every PUT).
 */
export const defaultFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

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
  const file = fetchImpl === defaultFetch ? fileRangeOf(p.body) : undefined;
  const response = file
    ? await putFileRange({
        url: p.url,
        headers: withContentLength(p.headers, p.body.size),
        range: file.range,
        fileStamp: file.stamp,
        signal: p.signal,
      })
    : await fetchImpl(p.url, { method: 'PUT', headers: p.headers, body: p.body, signal: p.signal });
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

/** The signed headers with Content-Length set once (a signed one may be spelt in any case). */
function withContentLength(headers: Record<string, string> | undefined, length: number): Record<string, string> {
  const others = Object.entries(headers ?? {}).filter(([name]) => name.toLowerCase() !== 'content-length');
  return { ...Object.fromEntries(others), 'content-length': String(length) };
}
