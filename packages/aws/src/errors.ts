/**
 * An AWS call failed for a reason other than "not found". The message is
 * ours and safe to log; the SDK error (with its request ids and text) is the
 * cause and must never reach an API caller.
 */
export class AwsUnavailableError extends Error {
  override readonly name: string = 'AwsUnavailableError';
  constructor(operation: string, options?: { cause?: unknown }) {
    super(`${operation} failed`, options);
  }
}

/** The bucket or a queue a process is configured with, and where that name came from, for messages an operator can act on. */
export interface AwsResource {
  kind: 'bucket' | 'queue';
  /** The bucket name or the queue URL. */
  name: string;
  /** The setting that named it, e.g. `S3_COACH_VIDEOS_BUCKET`, which the message starts with. */
  setting?: string;
  /** Where it was looked for, e.g. the endpoint URL or "AWS us-east-1". */
  endpoint?: string;
}

/**
 * The bucket or queue does not exist, or this process may not use it: an
 * outage an operator must fix (a setting, a permission, credentials), not a
 * user's mistake and not a missing object. Its message names the setting.
 */
export class AwsMisconfiguredError extends AwsUnavailableError {
  override readonly name = 'AwsMisconfiguredError';
  constructor(
    readonly resource: AwsResource,
    readonly problem: 'missing' | 'denied',
    options?: { cause?: unknown },
  ) {
    super('', options);
    this.message = describeMisconfiguration(resource, problem, options?.cause);
  }
}

function describeMisconfiguration(resource: AwsResource, problem: 'missing' | 'denied', cause: unknown): string {
  const setting = resource.setting ? `${resource.setting}: ` : '';
  const where = resource.endpoint ? ` at ${resource.endpoint}` : '';
  if (problem === 'missing') return `${setting}${resource.kind} ${resource.name} does not exist${where}`;
  // A HEAD's refusal has no body, so the SDK has no error code for it: name the status instead.
  const name = errorName(cause);
  const status = httpStatusOf(cause);
  const code = name && !name.startsWith('Unknown') ? name : status ? `HTTP ${status}` : undefined;
  return (
    `${setting}access to ${resource.kind} ${resource.name}${where} was denied${code ? ` (${code})` : ''}; ` +
    'check the AWS credentials and the permissions of their role'
  );
}

/** Error names S3 and SQS give a request whose credentials are missing, wrong or not allowed. */
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
]);

/** SQS's names for a queue URL that names no queue (the JSON and query protocols). */
const QUEUE_MISSING = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** What an error says about the resource itself, if anything: gone, or refused to us. */
export function misconfigurationOf(kind: AwsResource['kind'], error: unknown): 'missing' | 'denied' | undefined {
  const name = errorName(error);
  if (name !== undefined && DENIED.has(name)) return 'denied';
  if (httpStatusOf(error) === 403) return 'denied';
  if (kind === 'bucket' && name === 'NoSuchBucket') return 'missing';
  if (kind === 'queue' && name !== undefined && QUEUE_MISSING.has(name)) return 'missing';
  return undefined;
}

/**
 * Runs one AWS call on `resource`. `expected` may answer for an error the
 * caller expects (`{ answer }`, e.g. undefined for a missing object) or throw
 * its own typed error; a missing or refused bucket/queue becomes an
 * `AwsMisconfiguredError`, any other failure an `AwsUnavailableError` for `operation`.
 */
export async function awsCall<T>(
  resource: AwsResource,
  operation: string,
  fn: () => Promise<T>,
  expected?: (error: unknown) => { answer: T } | undefined,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const problem = misconfigurationOf(resource.kind, error);
    if (problem) throw new AwsMisconfiguredError(resource, problem, { cause: error });
    const handled = expected?.(error);
    if (handled) return handled.answer;
    throw new AwsUnavailableError(operation, { cause: error });
  }
}

export function isNotFound(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  // NoSuchBucket is a 404 too, but it means the configured bucket is gone, not the object.
  if (e.name === 'NoSuchBucket') return false;
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
