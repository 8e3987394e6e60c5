import { abortError } from './errors.ts';

export interface BackoffOptions {
  /** Delay before the first retry; doubles per retry. Default 500 ms. */
  initialDelayMs?: number;
  /** Cap on one delay. Default 20 s: long enough to ride out a Wi-Fi hand-over. */
  maxDelayMs?: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * What to do after a failed attempt: give up, retry after a backoff, or retry
 * at once (an expired URL was re-signed; waiting would not help).
 */
export type RetryDecision = 'fail' | 'backoff' | 'now';

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random,
 * so parallel parts that failed together do not retry in lockstep, and no retry fires instantly.
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (retry - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, `decide` says to fail, or the retries are
 * spent; the last error is thrown as is. An aborted `signal` ends it with an AbortError.
 */
export async function withRetry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy,
  decide: (error: unknown) => RetryDecision,
  signal: AbortSignal | undefined,
): Promise<T> {
  for (let attemptNumber = 0; ; attemptNumber++) {
    if (signal?.aborted) throw abortError();
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      if (signal?.aborted) throw abortError();
      const decision = decide(error);
      if (decision === 'fail' || attemptNumber >= policy.retries) throw error;
      if (decision === 'backoff') await sleep(backoffDelayMs(attemptNumber + 1, policy), signal);
    }
  }
}
