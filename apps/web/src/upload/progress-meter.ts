import type { FetchLike, UploadPhase, UploadProgressEvent } from '@coach/client';

import { TransferRate } from './transfer-rate.ts';
import { createXhrFetch } from './xhr-fetch.ts';

/** What a progress bar shows. */
export interface UploadProgress {
  phase: UploadPhase;
  /** Bytes sent so far: stored parts plus what is leaving in requests under way; never decreases. */
  bytesSent: number;
  totalBytes: number;
  /** Over the last few seconds; null until known. */
  bytesPerSecond: number | null;
  etaSeconds: number | null;
}

/**
 * Turns the uploader's events (bytes storage confirmed, a part at a time)
 * and XHR's upload progress (bytes leaving, as they go) into one smooth,
 * never-decreasing figure with a speed and an ETA. Pass `fetch` and
 * `onEvent` to uploadVideo/resumeUpload, and call `tick()` every second so a
 * stall shows as a falling speed.
 */
export class ProgressMeter {
  readonly fetch: FetchLike;
  private phase: UploadPhase = 'preparing';
  private confirmed = 0;
  private shown = 0;
  private readonly inFlight = new Map<object, number>();
  private readonly rate = new TransferRate();

  constructor(
    private readonly totalBytes: number,
    private readonly onChange: (progress: UploadProgress) => void,
  ) {
    this.fetch = createXhrFetch({
      onProgress: (request, loaded) => {
        this.inFlight.set(request, loaded);
        this.publish();
      },
      // A failed request's bytes no longer count; the figure holds until its retry passes it.
      onSettled: (request) => this.inFlight.delete(request),
    });
  }

  readonly onEvent = (event: UploadProgressEvent): void => {
    this.phase = event.phase;
    this.confirmed = event.bytesSent;
    this.publish();
  };

  tick(): void {
    this.publish();
  }

  private publish(): void {
    let leaving = 0;
    for (const bytes of this.inFlight.values()) leaving += bytes;
    this.shown = Math.min(this.totalBytes, Math.max(this.shown, this.confirmed + leaving));
    if (this.phase !== 'preparing') this.rate.record(this.shown);
    const done = this.phase === 'completed';
    this.onChange({
      phase: this.phase,
      bytesSent: this.shown,
      totalBytes: this.totalBytes,
      bytesPerSecond: this.rate.bytesPerSecond(),
      etaSeconds: done ? 0 : this.rate.etaSeconds(this.totalBytes - this.shown),
    });
  }
}
