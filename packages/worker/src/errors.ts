import type { JobFailure, JobFailureCode } from '@coach/jobs';

/**
 * The video itself cannot be analysed (not a video, unreadable, nobody in
 * frame): retrying cannot help, so the job fails at once. The message is
 * shown to the coach; `code` is stable for clients (`JobFailureCode`).
 */
export class PermanentAnalysisError extends Error {
  override readonly name = 'PermanentAnalysisError';
  constructor(
    readonly code: JobFailureCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static of(failure: JobFailure, options?: { cause?: unknown }): PermanentAnalysisError {
    return new PermanentAnalysisError(failure.code, failure.message, options);
  }
}
