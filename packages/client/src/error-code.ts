import { TRPCClientError } from '@trpc/client';

import type { AppErrorCode } from '@coach/api';

/**
 * The stable error code of a failed call (`SESSION_NOT_FOUND`, `UPLOAD_NOT_FOUND`, …),
 * if it has one. Looks through `cause`, so an UploadError from uploadVideo answers too.
 */
export function errorCodeOf(error: unknown): AppErrorCode | undefined {
  // A few levels are plenty; the bound guards against a cause cycle.
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof TRPCClientError) {
      const data: unknown = current.data;
      if (typeof data === 'object' && data !== null && 'appCode' in data && typeof data.appCode === 'string') {
        // The server only ever sends codes from APP_ERROR_CODES.
        return data.appCode as AppErrorCode;
      }
      return undefined;
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return undefined;
}
