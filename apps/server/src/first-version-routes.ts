import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { createFirstVersionCaller, firstVersionErrorAnswer, type Context, type FirstVersionCaller } from '@coach/api';

import { describeHttpError } from './http-errors.ts';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from './request-guard.ts';

type Procedures = FirstVersionCaller['firstVersion'];

/** Each path of the first version and the procedure that answers it; the procedure's schema checks the body. */
const ROUTES: Record<string, (caller: Procedures, body: unknown) => Promise<unknown>> = {
  '/api/coaches/plus/sessions': (caller, body) => caller.sessions.create(body as Parameters<Procedures['sessions']['create']>[0]),
  '/api/coaches/plus/videos/upload/initiate': (caller, body) =>
    caller.upload.initiate(body as Parameters<Procedures['upload']['initiate']>[0]),
  '/api/coaches/plus/videos/upload/complete': (caller, body) =>
    caller.upload.complete(body as Parameters<Procedures['upload']['complete']>[0]),
};

/** A body that is not JSON (or nests too deeply): FastAPI answered such a body with 422 `json_invalid`. */
class UnreadableBody extends Error {
  readonly statusCode = 422;
}

/**
 * The first version's API (reference-implementation.md) at its own paths, for clients written
 * for it: its snake_case bodies and answers, its error shape (`{"detail": …}`, plus `app_code`
 * and `request_id`), the same Bearer token. Each route runs the same procedures' middlewares and
 * domain functions as /trpc through a server-side caller, so every rule is the one /trpc applies.
 */
export async function registerFirstVersionRoutes(
  app: FastifyInstance,
  contextFor: (request: FastifyRequest) => Promise<Context>,
): Promise<void> {
  await app.register(async (scope) => {
    // JSON only, read as text so nesting is bounded before it is parsed (as on /trpc).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
      const body = String(text);
      if (jsonDepthExceeds(body, MAX_JSON_DEPTH)) {
        done(new UnreadableBody(`The body nests more than ${MAX_JSON_DEPTH} levels deep; no field takes such input.`));
        return;
      }
      try {
        done(null, body === '' ? undefined : JSON.parse(body));
      } catch {
        done(new UnreadableBody('JSON decode error'));
      }
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof UnreadableBody) {
        return reply.code(422).send({
          detail: [{ loc: ['body'], msg: error.message, type: 'json_invalid' }],
          app_code: 'INVALID_INPUT',
          request_id: request.id,
        });
      }
      const status = error.statusCode ?? 500;
      if (status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: error.code, status }, 'request refused');
      const { httpStatus, appCode, message } = describeHttpError(status, request.id);
      return reply.code(httpStatus).send({ detail: message, app_code: appCode, request_id: request.id });
    });

    for (const [url, call] of Object.entries(ROUTES)) {
      scope.post(url, async (request, reply) => {
        try {
          const caller = createFirstVersionCaller(await contextFor(request));
          return await call(caller.firstVersion, request.body);
        } catch (error) {
          return sendFirstVersionError(error, request, reply);
        }
      });
    }
  });
}

function sendFirstVersionError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = firstVersionErrorAnswer(error, request.id);
  if (answer.internal) request.log.error({ err: error, path: request.url }, 'request failed');
  // FastAPI's bearer scheme named itself on every 401.
  if (answer.status === 401) reply.header('www-authenticate', 'Bearer');
  if (answer.retryAfterSeconds !== undefined) reply.header('retry-after', String(answer.retryAfterSeconds));
  return reply.code(answer.status).send(answer.body);
}
