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
  /** When the server gives the upload up if it hears nothing (ISO 8601); null until known. */
  expiresAt: string | null;
}

/**
 * Shows nothing until the uploader's first event, which on a resume already
 * counts what the server stored (a bar never starts again from 0 %). Turns the uploader's events (bytes storage confirmed, a part at a time)
 * and XHR's upload progress (bytes leaving, as they go) into one smooth,
 * never-decreasing figure with a speed and an ETA. Pass `fetch` and
 * `onEvent` to uploadVideo/resumeUpload, and call `tick()` every second so a
 * stall shows as a falling speed.
 */
export class ProgressMeter {
  readonly fetch: FetchLike;
  private phase: UploadPhase = 'preparing';
  private started = false;
  private confirmed = 0;
  private shown = 0;
  private readonly inFlight = new Map<object, number>();
  private readonly rate = new TransferRate();

  constructor(
    private readonly totalBytes: number,
    private readonly onChange: (progress: UploadProgress) => void,
    /** The deadline known before the uploader reports one (a resume: the kept record's). */
    private expiresAt: string | null = null,
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
    this.started = true;
    this.phase = event.phase;
    this.confirmed = event.bytesSent;
    this.expiresAt = event.expiresAt ?? this.expiresAt;
    this.publish();
  };

  tick(): void {
    this.publish();
  }

  private publish(): void {
    if (!this.started) return;
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
      expiresAt: this.expiresAt,
    });
  }
}
