import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';

import { APP_ERROR_CODES, type AppErrorCode } from './domain/errors.ts';

/**
 * The one shape of every error body the API answers, whether tRPC or the HTTP
 * server raised it: tRPC's own (`message`, JSON-RPC `code`, `data.code`,
 * `data.httpStatus`, `data.path`) plus the stable `appCode`, the request id
 * and zod's field errors.
 */
export interface ErrorEnvelope {
  message: string;
  /** The JSON-RPC code tRPC uses for this status. */
  code: number;
  data: {
    code: TRPC_ERROR_CODE_KEY;
    httpStatus: number;
    path: string | null;
    appCode: AppErrorCode;
    requestId: string | null;
    fieldErrors: Record<string, string[]> | null;
  };
}

export function errorEnvelope(p: {
  message: string;
  jsonRpcCode: number;
  appCode: AppErrorCode;
  httpStatus: number;
  /** tRPC's code; by default the one `appCode` maps to. */
  trpcCode?: TRPC_ERROR_CODE_KEY;
  path?: string | null;
  requestId: string | null;
  fieldErrors?: Record<string, string[]> | null;
}): ErrorEnvelope {
  return {
    message: p.message,
    code: p.jsonRpcCode,
    data: {
      code: p.trpcCode ?? APP_ERROR_CODES[p.appCode],
      httpStatus: p.httpStatus,
      path: p.path ?? null,
      appCode: p.appCode,
      requestId: p.requestId,
      fieldErrors: p.fieldErrors ?? null,
    },
  };
}
