import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';

/**
 * Stable, documented error codes. Clients branch on these (never on messages);
 * each maps to exactly one tRPC/HTTP code.
 */
export const APP_ERROR_CODES = {
  UNAUTHENTICATED: 'UNAUTHORIZED',
  TOKEN_INVALID: 'UNAUTHORIZED',
  TOKEN_EXPIRED: 'UNAUTHORIZED',
  /** A service key the server does not know, malformed, or whose secret does not match. */
  SERVICE_KEY_INVALID: 'UNAUTHORIZED',
  SERVICE_KEY_EXPIRED: 'UNAUTHORIZED',
  SERVICE_KEY_REVOKED: 'UNAUTHORIZED',
  ROLE_NOT_ALLOWED: 'FORBIDDEN',
  /** A service key called a procedure its scopes do not cover (or one no service key may call). */
  INSUFFICIENT_SCOPE: 'FORBIDDEN',
  ORG_CLAIM_MISSING: 'FORBIDDEN',
  FEATURE_DISABLED: 'FORBIDDEN',
  /** The local dev token route refused a request from another host or origin. */
  DEV_TOKEN_FORBIDDEN: 'FORBIDDEN',
  SESSION_NOT_FOUND: 'NOT_FOUND',
  JOB_NOT_FOUND: 'NOT_FOUND',
  /** serviceKeys.revoke: the org has no key with this id. */
  SERVICE_KEY_NOT_FOUND: 'NOT_FOUND',
  INVALID_INPUT: 'BAD_REQUEST',
  INVALID_CURSOR: 'BAD_REQUEST',
  FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UPLOAD_NOT_FOUND: 'PRECONDITION_FAILED',
  UPLOAD_EXPIRED: 'PRECONDITION_FAILED',
  UPLOAD_REJECTED: 'UNPROCESSABLE_CONTENT',
  UPLOAD_ABORTED: 'PRECONDITION_FAILED',
  UPLOAD_CLOSED: 'PRECONDITION_FAILED',
  UPLOAD_INCOMPLETE: 'PRECONDITION_FAILED',
  UPLOAD_PARTS_INVALID: 'PRECONDITION_FAILED',
  /** jobs.videoUrl: the job holds no video (its upload has not landed, or was refused, cancelled or expired). */
  VIDEO_NOT_AVAILABLE: 'PRECONDITION_FAILED',
  /** jobs.videoUrl: the owner's retention policy removed the original video; its analysis (frames, metrics) stays. */
  ORIGINAL_REMOVED: 'CONFLICT',
  NOT_MULTIPART: 'BAD_REQUEST',
  INVALID_PART_NUMBER: 'BAD_REQUEST',
  /** upload.initiate: this `clientRequestId` already started an upload with other inputs. */
  IDEMPOTENCY_KEY_REUSED: 'CONFLICT',
  /** serviceKeys.create: the org already holds the most live keys allowed; revoke one first. */
  TOO_MANY_SERVICE_KEYS: 'CONFLICT',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** The bucket is missing or refuses this server: a setting to fix, not a moment to wait out. */
  STORAGE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** The analysis queue is missing or refuses this server: a setting to fix. */
  QUEUE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_SUPPORTED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** A URL over the server's limits (HTTP 414; tRPC has no code of its own for it). */
  URL_TOO_LONG: 'BAD_REQUEST',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  TOO_MANY_OPEN_UPLOADS: 'TOO_MANY_REQUESTS',
  /**
   * upload.initiate: the owner's stored and reserved bytes plus this upload
   * would pass its storage quota. 403, not 429 (waiting frees nothing) nor 413
   * (the request itself is small): the account may not take more until space is freed.
   */
  QUOTA_EXCEEDED: 'FORBIDDEN',
  /** jobs.watch: the user already holds the most live streams one API process allows. */
  TOO_MANY_STREAMS: 'TOO_MANY_REQUESTS',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
} as const satisfies Record<string, TRPC_ERROR_CODE_KEY>;

export type AppErrorCode = keyof typeof APP_ERROR_CODES;

/** A failure the caller can act on; its message is shown to them as is. */
export class AppError extends Error {
  override readonly name = 'AppError';
  /** For TOO_MANY_REQUESTS: when a retry may succeed (sent as Retry-After). */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    readonly code: AppErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** The app code a bare tRPC error (thrown by tRPC itself) is reported with. */
export function appCodeForTrpcCode(code: TRPC_ERROR_CODE_KEY): AppErrorCode {
  switch (code) {
    case 'BAD_REQUEST':
    case 'PARSE_ERROR':
      return 'INVALID_INPUT';
    case 'UNAUTHORIZED':
      return 'UNAUTHENTICATED';
    case 'NOT_FOUND':
      return 'NOT_FOUND';
    case 'METHOD_NOT_SUPPORTED':
      return 'METHOD_NOT_SUPPORTED';
    case 'PAYLOAD_TOO_LARGE':
      return 'PAYLOAD_TOO_LARGE';
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 'TOO_MANY_REQUESTS':
      return 'TOO_MANY_REQUESTS';
    case 'SERVICE_UNAVAILABLE':
      return 'SERVICE_UNAVAILABLE';
    default:
      return 'INTERNAL';
  }
}
