import type { Duplex } from 'node:stream';

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import { errorEnvelope, type AppErrorCode } from '@coach/api';

/** JSON-RPC codes tRPC uses for the same HTTP statuses, so every error body has one shape. */
const JSON_RPC_CODE: Record<number, number> = {
  400: -32600,
  404: -32004,
  405: -32005,
  413: -32013,
  414: -32600,
  415: -32015,
  429: -32029,
};

const KNOWN: Record<number, { appCode: AppErrorCode; message: string }> = {
  400: { appCode: 'INVALID_INPUT', message: 'The request body is not valid JSON.' },
  404: {
    appCode: 'NOT_FOUND',
    message: 'No such endpoint. The API is served under /trpc and, as REST, under /api/v1 (described at /openapi.json).',
  },
  405: { appCode: 'METHOD_NOT_SUPPORTED', message: 'The API answers GET (queries) and POST (mutations) only.' },
  413: {
    appCode: 'PAYLOAD_TOO_LARGE',
    message: 'The request body is too large (at most 1 MiB). Videos go to the presigned upload URL, not to the API.',
  },
  414: {
    appCode: 'URL_TOO_LONG',
    message: 'The request URL is too long. Batch at most 20 calls, and send large inputs in a POST body.',
  },
  415: { appCode: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the request body as JSON with "Content-Type: application/json".' },
  429: { appCode: 'TOO_MANY_REQUESTS', message: 'Too many requests. Please slow down and retry shortly.' },
};

/** A 4xx the table above does not name keeps its status: the request, not the server, was at fault. */
const OTHER_CLIENT_ERROR = {
  appCode: 'INVALID_INPUT',
  message: 'The request was not accepted. Check its method, URL and headers.',
} as const;

const isClientError = (status: number) => status >= 400 && status < 500;

/**
 * Errors Fastify raises before tRPC runs (body limits, content types, unknown
 * routes) answered in tRPC's error shape, with a stable `appCode` and nothing
 * internal in the message.
 */
export function sendHttpError(status: number, request: FastifyRequest, reply: FastifyReply, message?: string): FastifyReply {
  const described = describeHttpError(status, request.id);
  const { appCode, httpStatus } = described;
  message ??= described.message;
  return reply.code(httpStatus).send({
    error: errorEnvelope({
      message,
      jsonRpcCode: JSON_RPC_CODE[httpStatus] ?? (httpStatus < 500 ? -32600 : -32603),
      appCode,
      httpStatus,
      requestId: request.id,
    }),
  });
}

/** The status, stable code and message an error Fastify raised is answered with: a 4xx keeps its status, anything else is a masked 500. */
export function describeHttpError(
  status: number,
  requestId: string,
): { httpStatus: number; appCode: AppErrorCode; message: string } {
  const known = KNOWN[status] ?? (isClientError(status) ? OTHER_CLIENT_ERROR : undefined);
  return {
    httpStatus: known ? status : 500,
    appCode: known?.appCode ?? 'INTERNAL',
    message: known?.message ?? `Something went wrong on our side. Please try again (request ${requestId}).`,
  };
}

/** Errors Fastify's router raises before any handler (e.g. a malformed %-escape in the path). */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_BAD_URL') {
    return sendHttpError(400, request, reply, 'The request path is not a valid URL (check its %-escapes).');
  }
  return handleFastifyError(error, request, reply);
}

/**
 * Requests Node's HTTP parser rejects (headers or query string too large,
 * malformed requests) never reach Fastify; answer them on the socket in the
 * API's error shape rather than with Node's or Fastify's default body.
 */
export function handleClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 413 : 400;
  const appCode: AppErrorCode = tooLarge ? 'PAYLOAD_TOO_LARGE' : 'INVALID_INPUT';
  const message = tooLarge
    ? 'The request line or headers are too large (at most 16 KiB). Send large inputs in a POST body.'
    : 'The request could not be read as HTTP.';
  const body = JSON.stringify({
    error: errorEnvelope({ message, jsonRpcCode: JSON_RPC_CODE[status] ?? -32600, appCode, httpStatus: status, requestId: null }),
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? 'Payload Too Large' : 'Bad Request'}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      'cache-control: no-store\r\nx-content-type-options: nosniff\r\nx-frame-options: DENY\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function handleFastifyError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode ?? 500;
  if (isClientError(status)) request.log.info({ code: error.code, status }, 'request refused');
  else request.log.error({ err: error }, 'request failed');
  return sendHttpError(status, request, reply);
}
