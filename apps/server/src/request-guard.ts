import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { REST_BASE_PATH } from '@coach/api';

import { sendHttpError } from './http-errors.ts';

/** The most a request body may hold; videos go to storage, never through the API. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * How deeply a JSON input may nest. The deepest input the API takes is a
 * batch of `upload.recordParts` calls, `{"0":{"parts":[{…}]}}`: 4 levels.
 */
export const MAX_JSON_DEPTH = 16;

const TRPC_PREFIX = '/trpc/';
/** The REST routes (`rest.ts`) call the same procedures and take the same limits. */
const REST_PREFIX = `${REST_BASE_PATH}/`;
const API_METHODS = new Set(['GET', 'POST', 'OPTIONS']);

const isApiUrl = (url: string) => url.startsWith(TRPC_PREFIX) || url.startsWith(REST_PREFIX);

/** A request that declares no body at all (a REST POST whose input is all in its path, e.g. an abort). */
const hasNoBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] === undefined &&
  (request.headers['content-length'] === undefined || request.headers['content-length'] === '0');

/**
 * Refuses, for `/trpc` and the REST routes alike, before a byte of the body is read, what the API never serves: a
 * method other than GET/POST (and CORS preflights), a body that is not JSON,
 * and a body that declares more than the limit. tRPC's Fastify adapter
 * installs its own pass-through parser for `multipart/form-data` (read whole
 * into memory, outside Fastify's `bodyLimit`), so no content type but JSON may
 * reach it. Chunked JSON bodies are still cut off at the limit by Fastify's
 * `bodyLimit` while they stream in.
 */
export function registerRequestGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!isApiUrl(request.url)) return;
    if (!API_METHODS.has(request.method)) {
      reply.header('allow', 'GET, POST, OPTIONS');
      return refuse(request, reply, 405);
    }
    if (request.method !== 'POST') return;
    const declared = Number(request.headers['content-length']);
    if (declared > BODY_LIMIT_BYTES) return refuse(request, reply, 413);
    if (request.url.startsWith(REST_PREFIX) && hasNoBody(request)) return;
    if (!isJson(request.headers['content-type'])) return refuse(request, reply, 415);
  });

  // The body is still a string here (tRPC parses it later), so nesting is counted without parsing.
  app.addHook('preHandler', async (request, reply) => {
    if (!isApiUrl(request.url)) return;
    const query = request.query as Record<string, unknown> | undefined;
    const inputs = [request.body, query?.input];
    if (inputs.some((input) => typeof input === 'string' && jsonDepthExceeds(input, MAX_JSON_DEPTH))) {
      return sendHttpError(
        400,
        request,
        reply,
        `The input nests more than ${MAX_JSON_DEPTH} levels deep; no procedure takes such input.`,
      );
    }
  });
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

/**
 * Ends the exchange with the error, closing the connection so the client
 * cannot make the server drain a large unread body before the next request.
 */
function refuse(request: FastifyRequest, reply: FastifyReply, status: 405 | 413 | 415): FastifyReply {
  reply.header('connection', 'close');
  return sendHttpError(status, request, reply);
}

/**
 * Whether JSON text opens more than `max` arrays or objects inside one
 * another. One pass over the characters, skipping strings; malformed text is
 * left to the JSON parser.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}
