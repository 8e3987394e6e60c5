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
export function abortError(message = 'The upload was cancelled.'): Error {
  return namedError(message, 'AbortError');
}

/**
 * A DOMException where the runtime has one, else an Error of the same name and
 * message: React Native has no DOMException. Both are told apart by name only.
 */
function namedError(message: string, name: string): Error {
  if (typeof DOMException === 'function') return new DOMException(message, name);
  const error = new Error(message);
  error.name = name;
  return error;
}

const PAUSE_NAME = 'UploadPausedError';

/**
 * The abort reason that pauses an upload instead of cancelling it:
 * `controller.abort(pauseReason())`. The transfer stops as on a cancel, but the
 * server is not told to discard anything, so a multipart upload goes on later
 * with `resumeUpload` and the job id from `onJobCreated`. For when the app, not
 * the user, stops an upload (a screen closing, a sign-in to renew). A paused
 * single-PUT job cannot go on; it expires by itself.
 */
export function pauseReason(): Error {
  return namedError('The upload was paused.', PAUSE_NAME);
}

/** True for a reason made by `pauseReason` (matched by name, so it holds across copies of this package). */
export function isPauseReason(reason: unknown): boolean {
  return reason instanceof Error && reason.name === PAUSE_NAME;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}
