import { AppError } from './errors.ts';

/** What a call costs, beside the owner limits kept in Postgres (bytes, open uploads). */
export type UsageKind = 'mutations' | 'signedUrls' | 'initiates';

export interface UsageLimits {
  /** upload.initiate calls one user may make per minute (0: no limit). */
  initiatesPerMinute: number;
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
  /**
   * Throws TOO_MANY_REQUESTS, as `charge` would for a cost of 1, when the
   * allowance is spent; takes nothing. With `take` after the work succeeded,
   * a refused call costs nothing (at the price of letting calls already in
   * flight together overdraw the allowance, paid back before the next passes).
   */
  ensureAvailable(userId: string, kind: UsageKind): void;
  /** Takes `cost` whatever is left, possibly overdrawing: for work already done. */
  take(userId: string, kind: UsageKind, cost: number): void;
}

/** Users whose buckets are kept before full ones (the same as no entry) are dropped. */
const PRUNE_ABOVE_ENTRIES = 50_000;

const WHAT: Record<UsageKind, string> = {
  mutations: 'changes',
  signedUrls: 'video and frame links',
  initiates: 'uploads started',
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
    initiates: limits.initiatesPerMinute,
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

  const tokensAt = (key: string, capacity: number, at: number) => {
    const bucket = buckets.get(key);
    return bucket ? refilled(bucket, capacity, at) : capacity;
  };

  const refuse = (kind: UsageKind, capacity: number, missing: number) => {
    const retryAfterSeconds = Math.max(1, Math.ceil((missing * 60) / capacity));
    return new AppError(
      'TOO_MANY_REQUESTS',
      `Too many ${WHAT[kind]} in a short time (the limit is ${capacity} a minute). Try again in ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  };

  const store = (key: string, tokens: number, at: number) => {
    if (!buckets.has(key) && buckets.size >= PRUNE_ABOVE_ENTRIES) prune(at);
    buckets.set(key, { tokens, at });
  };

  return {
    charge(userId, kind, cost) {
      const capacity = perMinute[kind];
      if (capacity <= 0 || cost <= 0) return;
      // A single call may cost at most a full allowance, or it could never pass.
      const price = Math.min(cost, capacity);
      const at = now();
      const key = `${kind}:${userId}`;
      const tokens = tokensAt(key, capacity, at);
      if (tokens < price) throw refuse(kind, capacity, price - tokens);
      store(key, tokens - price, at);
    },
    ensureAvailable(userId, kind) {
      const capacity = perMinute[kind];
      if (capacity <= 0) return;
      const tokens = tokensAt(`${kind}:${userId}`, capacity, now());
      if (tokens < 1) throw refuse(kind, capacity, 1 - tokens);
    },
    take(userId, kind, cost) {
      const capacity = perMinute[kind];
      if (capacity <= 0 || cost <= 0) return;
      const at = now();
      const key = `${kind}:${userId}`;
      store(key, tokensAt(key, capacity, at) - cost, at);
    },
  };
}
