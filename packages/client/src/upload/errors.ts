/** A storage PUT (the whole file or one part) answered with a status other than 2xx. */
export class StorageHttpError extends Error {
  override readonly name = 'StorageHttpError';
  constructor(
    readonly status: number,
    /** S3's error code from the XML body (`AccessDenied`, `NoSuchUpload`, …), when it sent one. */
    readonly storageCode: string | undefined,
    readonly partNumber: number | undefined,
  ) {
    const what = partNumber === undefined ? 'the upload' : `part ${partNumber}`;
    super(`Storage refused ${what}: HTTP ${status}${storageCode ? ` ${storageCode}` : ''}.`);
  }
}

/**
 * Why `uploadVideo`/`resumeUpload` failed. `jobId` is set once the job exists:
 * pass it to `resumeUpload` to continue without re-sending stored parts.
 * `errorCodeOf(error)` reads the API's code through `cause`.
 */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  constructor(
    message: string,
    readonly jobId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the upload promise rejects with after its `signal` fired (fetch does the same). */
export function abortError(): DOMException {
  return new DOMException('The upload was cancelled.', 'AbortError');
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
