/**
 * An AWS call failed for a reason other than "not found". The message is
 * ours and safe to log; the SDK error (with its request ids and text) is the
 * cause and must never reach an API caller.
 */
export class AwsUnavailableError extends Error {
  override readonly name = 'AwsUnavailableError';
  constructor(operation: string, options?: { cause?: unknown }) {
    super(`${operation} failed`, options);
  }
}

/**
 * Runs one AWS call. `expected` may answer for an error the caller expects
 * (`{ answer }`, e.g. undefined for a missing object) or throw its own typed
 * error; any other failure becomes an `AwsUnavailableError` for `operation`.
 */
export async function awsCall<T>(
  operation: string,
  fn: () => Promise<T>,
  expected?: (error: unknown) => { answer: T } | undefined,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const handled = expected?.(error);
    if (handled) return handled.answer;
    throw new AwsUnavailableError(operation, { cause: error });
  }
}

export function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/** A conditional read found a different object than the one asked for (its ETag changed). */
export class ObjectChangedError extends Error {
  override readonly name = 'ObjectChangedError';
}

export function isPreconditionFailed(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}

/** S3 refused to assemble a multipart upload from the parts given (`reason` is S3's error name). */
export class InvalidPartsError extends Error {
  override readonly name = 'InvalidPartsError';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`multipart upload parts refused: ${reason}`, options);
  }
}

export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { name?: string; Code?: string };
  return e.Code ?? e.name;
}
