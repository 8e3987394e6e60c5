import { TRPCClientError } from '@trpc/client';

import { withRetry, type RetryPolicy } from './retry.ts';

/**
 * A failed API call worth repeating: no tRPC answer at all (the network or a
 * proxy failed), or a 5xx/429 one. Every other answer (bad input, not found,
 * upload closed, …) would be the same next time.
 */
export function isTransientApiError(error: unknown): boolean {
  if (!(error instanceof TRPCClientError)) return false;
  const data: unknown = error.data;
  const status =
    typeof data === 'object' && data !== null && 'httpStatus' in data && typeof data.httpStatus === 'number'
      ? data.httpStatus
      : undefined;
  if (status === undefined) return true;
  return status >= 500 || status === 429;
}

/** One API call with the upload's retry policy. Every procedure the uploader retries is idempotent (initiate through its clientRequestId). */
export function callApi<T>(call: () => Promise<T>, policy: RetryPolicy, signal?: AbortSignal): Promise<T> {
  return withRetry(call, policy, (error) => (isTransientApiError(error) ? 'backoff' : 'fail'), signal);
}
