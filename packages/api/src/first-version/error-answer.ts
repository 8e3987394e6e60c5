import { TRPCError } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { ZodError } from 'zod';

import { appCodeForTrpcCode, AppError, type AppErrorCode } from '../domain/errors.ts';

/** One problem with the request body, as FastAPI (which served the first version) reported it. */
export interface FirstVersionValidationDetail {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/**
 * The first version's error body, FastAPI's `{"detail": …}`, with our stable code and the
 * request id beside it (fields its clients never read, so adding them changes nothing for them).
 */
export interface FirstVersionErrorBody {
  detail: string | FirstVersionValidationDetail[];
  app_code: AppErrorCode;
  request_id: string | null;
}

export interface FirstVersionErrorAnswer {
  status: number;
  body: FirstVersionErrorBody;
  /** For 429s: when a retry may succeed (sent as Retry-After). */
  retryAfterSeconds: number | undefined;
  /** A masked 500: the caller should log the cause. */
  internal: boolean;
}

/**
 * A field this server requires where the first version's schema had none (`size_bytes` with
 * `FIRST_VERSION_UNSIZED_UPLOADS=false`): answered as FastAPI answered a missing field.
 */
export class FirstVersionFieldRequired extends AppError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('INVALID_INPUT', message);
  }
}

const PATHS = {
  initiate: '/api/coaches/plus/videos/upload/initiate',
  complete: '/api/coaches/plus/videos/upload/complete',
};

/**
 * The first version's own words where it had an answer for the case (reference-implementation.md,
 * "Error Handling" and its endpoints), and ours reworded where they name a /trpc procedure.
 * Another owner's session or job answers 404 like a missing one: the first version's 403 told a
 * caller that the id exists.
 */
const FIRST_VERSION_DETAIL: Partial<Record<AppErrorCode, string>> = {
  SESSION_NOT_FOUND: 'Video session not found',
  JOB_NOT_FOUND: 'Analysis job not found',
  ROLE_NOT_ALLOWED: 'Only Coach Pro Plus users can upload videos',
  FEATURE_DISABLED: 'Insufficient feature access: video_upload_enabled',
  UPLOAD_NOT_FOUND: `No video has been uploaded for this job yet. PUT the file to its presigned_url, then call ${PATHS.complete} again.`,
  UPLOAD_EXPIRED: `The upload expired before the file arrived. Start a new upload with ${PATHS.initiate}.`,
  UPLOAD_ABORTED: `This upload was cancelled. Start a new upload with ${PATHS.initiate}.`,
};

/**
 * What a first-version route answers for an error its procedure threw: the status our error code
 * maps to (422 for a body that fails validation, as FastAPI answered), the first version's body
 * shape, and nothing internal (an unexpected error is a 500 naming only the request id).
 */
export function firstVersionErrorAnswer(error: unknown, requestId: string | null): FirstVersionErrorAnswer {
  const cause = error instanceof TRPCError ? error.cause : undefined;
  if (error instanceof TRPCError && cause instanceof ZodError) {
    return {
      status: 422,
      body: {
        detail: cause.issues.map((issue) => ({
          loc: ['body', ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))],
          msg: issue.message,
          type: issue.code,
        })),
        app_code: 'INVALID_INPUT',
        request_id: requestId,
      },
      retryAfterSeconds: undefined,
      internal: false,
    };
  }
  if (cause instanceof FirstVersionFieldRequired) {
    return {
      status: 422,
      body: {
        detail: [{ loc: ['body', cause.field], msg: cause.message, type: 'missing' }],
        app_code: 'INVALID_INPUT',
        request_id: requestId,
      },
      retryAfterSeconds: undefined,
      internal: false,
    };
  }
  const appCode =
    cause instanceof AppError ? cause.code : error instanceof TRPCError ? appCodeForTrpcCode(error.code) : 'INTERNAL';
  if (appCode === 'INTERNAL' || !(error instanceof TRPCError)) {
    return {
      status: 500,
      body: {
        detail: `Something went wrong on our side. Please try again${requestId ? ` (request ${requestId})` : ''}.`,
        app_code: 'INTERNAL',
        request_id: requestId,
      },
      retryAfterSeconds: undefined,
      internal: true,
    };
  }
  return {
    status: getHTTPStatusCodeFromError(error),
    body: { detail: FIRST_VERSION_DETAIL[appCode] ?? error.message, app_code: appCode, request_id: requestId },
    retryAfterSeconds: cause instanceof AppError ? cause.retryAfterSeconds : undefined,
    internal: false,
  };
}
