export type UploadPhase = 'preparing' | 'uploading' | 'completing' | 'completed';

export interface PartProgress {
  partNumber: number;
  /** 0 when the part's PUT starts, `sizeBytes` once storage confirmed it. */
  bytesSent: number;
  sizeBytes: number;
}

export interface UploadProgressEvent {
  phase: UploadPhase;
  /**
   * Bytes confirmed by storage, including parts stored by an earlier attempt
   * (resume). Never decreases; ends at exactly `totalBytes`.
   */
  bytesSent: number;
  totalBytes: number;
  /** Average over this run's transfer so far; 0 until the first bytes are confirmed. */
  bytesPerSecond: number;
  /** Seconds left at the current speed; null while the speed is unknown. */
  etaSeconds: number | null;
  /**
   * When the server expires this upload if it stops hearing from it (ISO 8601),
   * as its latest answer said; null until known. Past it, a resume fails with
   * `UPLOAD_EXPIRED` and the upload starts again.
   */
  expiresAt: string | null;
  /** Set on per-part events of a multipart upload. */
  part?: PartProgress;
}

/**
 * Turns part completions into progress events. Each part's bytes are counted
 * once (a retried part never counts twice), when its PUT is confirmed: fetch
 * reports no upload progress, so granularity is one part (or the whole file
 * for a single PUT).
 */
export class ProgressTracker {
  private bytesSent = 0;
  private sentThisRun = 0;
  private transferStartedAt: number | undefined;
  private phase: UploadPhase = 'preparing';
  private expiresAt: string | null = null;
  private readonly counted = new Set<number>();

  constructor(
    private readonly totalBytes: number,
    private readonly onProgress: ((event: UploadProgressEvent) => void) | undefined,
  ) {}

  enter(phase: UploadPhase): void {
    this.phase = phase;
    if (phase === 'uploading') this.transferStartedAt ??= performance.now();
    if (phase === 'completed') this.bytesSent = this.totalBytes;
    this.emit();
  }

  /** Bytes stored by an earlier run (resume), known once the server's record was read. */
  setAlreadyStored(bytes: number): void {
    this.bytesSent = Math.max(this.bytesSent, bytes);
  }

  /** The upload's deadline from the server's latest answer (initiate, listParts). */
  setExpiresAt(expiresAt: string | undefined): void {
    if (expiresAt !== undefined) this.expiresAt = expiresAt;
  }

  partStarted(partNumber: number, sizeBytes: number): void {
    this.emit({ partNumber, bytesSent: 0, sizeBytes });
  }

  /** Storage confirmed a part. */
  partDone(partNumber: number, sizeBytes: number): void {
    if (this.count(partNumber, sizeBytes)) this.emit({ partNumber, bytesSent: sizeBytes, sizeBytes });
  }

  /** Storage confirmed the single PUT. */
  fileDone(): void {
    if (this.count(0, this.totalBytes)) this.emit();
  }

  /** Adds a confirmed part's bytes once; false if they were counted already. */
  private count(partNumber: number, sizeBytes: number): boolean {
    if (this.counted.has(partNumber)) return false;
    this.counted.add(partNumber);
    this.bytesSent = Math.min(this.totalBytes, this.bytesSent + sizeBytes);
    this.sentThisRun += sizeBytes;
    return true;
  }

  private emit(part?: PartProgress): void {
    if (!this.onProgress) return;
    const elapsedSeconds = this.transferStartedAt === undefined ? 0 : (performance.now() - this.transferStartedAt) / 1000;
    const bytesPerSecond = elapsedSeconds > 0 ? this.sentThisRun / elapsedSeconds : 0;
    const remaining = this.totalBytes - this.bytesSent;
    const event: UploadProgressEvent = {
      phase: this.phase,
      bytesSent: this.bytesSent,
      totalBytes: this.totalBytes,
      bytesPerSecond,
      etaSeconds: remaining === 0 ? 0 : bytesPerSecond > 0 ? remaining / bytesPerSecond : null,
      expiresAt: this.expiresAt,
    };
    if (part) event.part = part;
    this.onProgress(event);
  }
}
