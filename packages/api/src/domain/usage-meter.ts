import { AppError } from './errors.ts';

/** What a call costs, beside the upload limits counted in Postgres. */
export type UsageKind = 'mutations' | 'signedUrls';

export interface UsageLimits {
  /** Mutations one user may call per minute, in bursts of up to as many (0: no limit). */
  mutationsPerMinute: number;
  /** Links one user may have signed per minute: downloads, frames and upload parts (0: no limit). */
  signedUrlsPerMinute: number;
}

export interface UsageMeter {
  /**
   * Takes `cost` from the user's allowance of `kind`, or throws
   * TOO_MANY_REQUESTS saying when to come back. Call before the work it pays for.
   */
  charge(userId: string, kind: UsageKind, cost: number): void;
}

/** Users whose buckets are kept before full ones (the same as no entry) are dropped. */
const PRUNE_ABOVE_ENTRIES = 50_000;

const WHAT: Record<UsageKind, string> = {
  mutations: 'changes',
  signedUrls: 'video and frame links',
};

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (epoch ms). */
  at: number;
}

/**
 * Per-user token buckets, one per kind, in this process's memory: each holds
 * a minute's allowance and refills continuously, so a burst up to the limit
 * passes and a steady caller is held to the rate. Cheap enough for every
 * call; counted per API process, so N replicas allow up to N times the rate.
 */
export function createUsageMeter(limits: UsageLimits, now: () => number = Date.now): UsageMeter {
  const perMinute: Record<UsageKind, number> = {
    mutations: limits.mutationsPerMinute,
    signedUrls: limits.signedUrlsPerMinute,
  };
  const buckets = new Map<string, Bucket>();

  const refilled = (bucket: Bucket, capacity: number, at: number) =>
    Math.min(capacity, bucket.tokens + ((at - bucket.at) * capacity) / 60_000);

  const prune = (at: number) => {
    for (const [key, bucket] of buckets) {
      const kind = key.slice(0, key.indexOf(':')) as UsageKind;
      if (refilled(bucket, perMinute[kind], at) >= perMinute[kind]) buckets.delete(key);
    }
  };

  return {
    charge(userId, kind, cost) {
      const capacity = perMinute[kind];
      if (capacity <= 0 || cost <= 0) return;
      // A single call may cost at most a full allowance, or it could never pass.
      const price = Math.min(cost, capacity);
      const at = now();
      const key = `${kind}:${userId}`;
      const bucket = buckets.get(key);
      const tokens = bucket ? refilled(bucket, capacity, at) : capacity;
      if (tokens < price) {
        const retryAfterSeconds = Math.max(1, Math.ceil(((price - tokens) * 60) / capacity));
        throw new AppError(
          'TOO_MANY_REQUESTS',
          `Too many ${WHAT[kind]} in a short time (the limit is ${capacity} a minute). Try again in ${retryAfterSeconds} s.`,
          { retryAfterSeconds },
        );
      }
      if (!bucket && buckets.size >= PRUNE_ABOVE_ENTRIES) prune(at);
      buckets.set(key, { tokens: tokens - price, at });
    },
  };
}
