import fastifyApiReference from '@scalar/fastify-api-reference';
import type { AnyTRPCRouter, inferRouterContext, TRPCError } from '@trpc/server';
import { fetchRequestHandler, type FetchHandlerRequestOptions } from '@trpc/server/adapters/fetch';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { createOpenApiDocument, REST_BASE_PATH, restRoutes, type RestRoute } from '@coach/api';

import { sendHttpError } from './http-errors.ts';
import { BODY_LIMIT_BYTES } from './request-guard.ts';

/** What a REST call shares with `/trpc`: the same router, context, error log and response headers. */
export interface RestTrpcOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  createContextFor: (request: FastifyRequest) => Promise<inferRouterContext<TRouter>>;
  responseMeta: FetchHandlerRequestOptions<TRouter>['responseMeta'];
  logFailure: (request: FastifyRequest, error: TRPCError, path: string | undefined) => void;
}

/** The REST API's version, in its paths (`/api/v1`) and its document. */
export const API_VERSION = '1.0.0';

/** Where the OpenAPI document and its rendered reference are served. */
export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/**
 * The REST routes (`/api/v1/...`), `GET /openapi.json` and the reference page
 * (`/docs`). Each route turns its path, query and body into the procedure's
 * input and answers through tRPC's own HTTP handler, so authentication, limits,
 * status codes and error bodies are exactly those of `/trpc`; only a success is
 * unwrapped from tRPC's `{"result":{"data":…}}` to the bare value.
 */
export async function registerRestApi<TRouter extends AnyTRPCRouter>(
  app: FastifyInstance,
  trpc: RestTrpcOptions<TRouter>,
): Promise<void> {
  const document = createOpenApiDocument({ version: API_VERSION });
  const documentJson = JSON.stringify(document);

  app.get(OPENAPI_PATH, (_request, reply) => reply.type('application/json; charset=utf-8').send(documentJson));
  await app.register(fastifyApiReference, {
    routePrefix: DOCS_PATH,
    logLevel: 'silent',
    // The page and its script come from the package. Nothing is fetched from another host: no web
    // fonts, no AI agent (Scalar's own service), no vendor toolbar; "try it" asks for the Bearer token.
    configuration: {
      url: OPENAPI_PATH,
      title: 'Coach Plus API',
      withDefaultFonts: false,
      agent: { disabled: true },
      showDeveloperTools: 'never',
      authentication: { preferredSecurityScheme: 'bearerAuth' },
    },
  });

  await app.register(async (scope) => {
    // Bodies stay text until the request guard has measured their nesting (as for /trpc).
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) =>
      done(null, body),
    );
    for (const route of restRoutes(document)) {
      scope.route({
        method: route.method,
        url: `${REST_BASE_PATH}${route.path.replace(/\{(\w+)\}/g, ':$1')}`,
        handler: (request, reply) => answer(route, trpc, request, reply),
      });
    }
  });
}

async function answer<TRouter extends AnyTRPCRouter>(
  route: RestRoute,
  trpc: RestTrpcOptions<TRouter>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const params = request.params as Record<string, string>;
  let input: unknown;
  if (route.method === 'GET') {
    input = { ...queryInput(request.query as Record<string, string | string[]>, route), ...params };
  } else {
    const body = typeof request.body === 'string' && request.body !== '' ? parseJson(request.body) : {};
    if (body === INVALID) return sendHttpError(400, request, reply);
    // Path parameters name the resource; a body naming another is overruled, not mixed in.
    input = isPlainObject(body) ? { ...body, ...params } : body;
  }
  const url = new URL(`http://rest.internal/trpc/${route.procedure}`);
  const init: RequestInit = { method: route.method, headers: { 'content-type': 'application/json' } };
  if (route.method === 'GET') url.searchParams.set('input', JSON.stringify(input));
  else init.body = JSON.stringify(input);

  const response = await fetchRequestHandler({
    endpoint: '/trpc',
    req: new Request(url, init),
    router: trpc.router,
    allowBatching: false,
    createContext: () => trpc.createContextFor(request),
    responseMeta: trpc.responseMeta,
    onError: ({ error, path }) => trpc.logFailure(request, error, path),
  });
  const answered = (await response.json()) as { result?: { data?: unknown }; error?: unknown };
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter) reply.header('retry-after', retryAfter);
  reply.code(response.status).type('application/json; charset=utf-8');
  return reply.send(JSON.stringify('error' in answered ? { error: answered.error } : (answered.result?.data ?? null)));
}

const INVALID = Symbol('invalid JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The query string as the procedure's input: numbers and booleans the
 * document declares are converted when they are written as such, anything
 * else is passed on as text for the schema to refuse with its own message.
 */
function queryInput(query: Record<string, string | string[]>, route: RestRoute): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(query)) {
    const text = Array.isArray(value) ? value.at(-1) : value;
    const kind = route.typedQueryParams[name];
    if (text !== undefined && kind === 'number' && /^-?\d+(\.\d+)?$/.test(text)) input[name] = Number(text);
    else if (kind === 'boolean' && (text === 'true' || text === 'false')) input[name] = text === 'true';
    else input[name] = value;
  }
  return input;
}
