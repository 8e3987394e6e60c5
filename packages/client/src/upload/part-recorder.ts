import type { ApiClient } from '../client.ts';
import { callApi } from './api-retry.ts';
import type { RetryPolicy } from './retry.ts';

export interface StoredPart {
  partNumber: number;
  etag: string;
}

/** The API records at most this many parts per call. */
const MAX_PARTS_PER_CALL = 100;

/**
 * Records stored parts on the server (the record resume relies on). One call
 * at a time: parts confirmed while a call is out go together in the next one,
 * so calls batch themselves under load and a part is recorded soon after it lands.
 */
export class PartRecorder {
  private readonly queued: StoredPart[] = [];
  private running: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly p: {
      client: ApiClient;
      jobId: string;
      policy: RetryPolicy;
      signal: AbortSignal | undefined;
      /** Called once if recording fails for good; the upload cannot be resumed reliably past that point. */
      onError: (error: unknown) => void;
    },
  ) {}

  add(part: StoredPart): void {
    if (this.failure) return;
    this.queued.push(part);
    this.running ??= this.run();
  }

  /** Resolves once every part added so far is recorded; rejects with the recording failure. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.failure) throw this.failure.error;
  }

  private async run(): Promise<void> {
    const { client, jobId, policy, signal } = this.p;
    try {
      while (this.queued.length > 0) {
        const parts = this.queued.splice(0, MAX_PARTS_PER_CALL);
        await callApi(() => client.upload.recordParts.mutate({ jobId, parts }, { signal }), policy, signal);
      }
    } catch (error) {
      this.failure = { error };
      this.p.onError(error);
    } finally {
      this.running = undefined;
    }
  }
}
