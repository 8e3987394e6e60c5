/**
 * The video itself cannot be analysed (not a video, unreadable, nobody in
 * frame): retrying cannot help, so the job fails at once. The message is
 * shown to the coach; `code` is stable for clients.
 */
export class PermanentAnalysisError extends Error {
  override readonly name = 'PermanentAnalysisError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Stable failure codes the worker itself writes on jobs. */
export const WORKER_FAILURE = {
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  RETRIES_EXHAUSTED: 'ANALYSIS_RETRIES_EXHAUSTED',
} as const;

/** The job update for a video that could not be analysed in `attempts` tries. */
export function retriesExhausted(attempts: number) {
  return {
    errorCode: WORKER_FAILURE.RETRIES_EXHAUSTED,
    errorMessage: `We could not analyse this video after ${attempts} attempts. Please try uploading it again later.`,
    finishedAt: new Date(),
  };
}
