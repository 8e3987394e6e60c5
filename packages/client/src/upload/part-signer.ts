import type { ApiClient } from '../client.ts';
import { callApi } from './api-retry.ts';
import { UploadError } from './errors.ts';
import type { RetryPolicy } from './retry.ts';

export interface SignedPartUrl {
  url: string;
  /** The exact byte count the URL was signed for. */
  sizeBytes: number;
}

interface CachedUrl extends SignedPartUrl {
  /** Local clock, so a skewed device clock does not matter. */
  expiresAtMs: number;
  lifetimeMs: number;
}

/**
 * Part URLs signed on demand, a small batch at a time: the part asked for plus
 * the next ones queued, so a slow upload never holds URLs that expire before
 * their turn, and a fast one makes one signParts call per batch, not per part.
 */
export class PartSigner {
  private readonly urls = new Map<number, CachedUrl>();
  private readonly signing = new Map<number, Promise<void>>();

  constructor(
    private readonly p: {
      client: ApiClient;
      jobId: string;
      /** Parts per signParts call (the API takes at most 100). */
      batchSize: number;
      /** Parts not yet started, in the order they will be sent. */
      upcoming: () => readonly number[];
      policy: RetryPolicy;
      signal: AbortSignal;
    },
  ) {}

  async urlFor(partNumber: number): Promise<SignedPartUrl> {
    const cached = this.fresh(partNumber);
    if (cached) return cached;
    await (this.signing.get(partNumber) ?? this.sign(partNumber));
    // Just signed, so fresh whatever its lifetime; not looping guards against a server that skipped it.
    const signed = this.urls.get(partNumber);
    if (!signed) throw new UploadError(`The server signed no URL for part ${partNumber}.`, this.p.jobId);
    return signed;
  }

  /** Storage refused `url` (403: most likely expired); the next urlFor signs the part again. */
  invalidate(partNumber: number, url: string): void {
    if (this.urls.get(partNumber)?.url === url) this.urls.delete(partNumber);
  }

  /**
   * A URL counts as fresh for the first three quarters of its life: S3 checks
   * expiry only when a PUT starts, and the margin leaves room for the PUT to begin.
   */
  private fresh(partNumber: number): CachedUrl | undefined {
    const cached = this.urls.get(partNumber);
    if (!cached) return undefined;
    return cached.expiresAtMs - Date.now() > cached.lifetimeMs / 4 ? cached : undefined;
  }

  private sign(first: number): Promise<void> {
    const batch = [first];
    for (const n of this.p.upcoming()) {
      if (batch.length >= this.p.batchSize) break;
      if (n !== first && !this.signing.has(n) && !this.fresh(n)) batch.push(n);
    }
    const requestedAt = Date.now();
    const { client, jobId, policy, signal } = this.p;
    const done = callApi(() => client.upload.signParts.mutate({ jobId, partNumbers: batch }, { signal }), policy, signal)
      .then((signed) => {
        const lifetimeMs = signed.expiresIn * 1000;
        for (const part of signed.parts) {
          this.urls.set(part.partNumber, {
            url: part.url,
            sizeBytes: part.sizeBytes,
            expiresAtMs: requestedAt + lifetimeMs,
            lifetimeMs,
          });
        }
      })
      .finally(() => {
        for (const n of batch) if (this.signing.get(n) === done) this.signing.delete(n);
      });
    for (const n of batch) this.signing.set(n, done);
    return done;
  }
}
