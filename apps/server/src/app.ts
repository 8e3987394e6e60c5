import { randomUUID } from 'node:crypto';

import cors from '@fastify/cors';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';

import {
  AppError,
  appRouter,
  createContext,
  createUsageMeter,
  toApiConfig,
  type ApiDeps,
  type AppRouter,
  type TokenVerifier,
} from '@coach/api';

import { registerHealthRoutes } from './health.ts';
import { handleClientError, handleFastifyError, handleFrameworkError, sendHttpError } from './http-errors.ts';
import { BODY_LIMIT_BYTES, registerRequestGuard } from './request-guard.ts';

export interface AppOptions {
  corsOrigins: string[];
  /** The process's pino logger; omitted in tests for silence. */
  logger?: FastifyBaseLogger;
  /** How long a `/readyz` answer is reused (default `READINESS_CACHE_MS`). */
  readinessCacheMs?: number;
}

export interface AppDeps extends Omit<ApiDeps, 'logger' | 'usage'> {
  verifyToken: TokenVerifier;
}

const MAX_BATCH_SIZE = 20;

/**
 * Connections the kernel may hold before the server accepts them. Node's default
 * (511) is below Linux's usual cap (somaxconn, 4096, which applies if lower): in a
 * burst of new connections the kernel drops SYNs past it, and those clients wait
 * 1-31 s in retransmits or are reset.
 */
export const LISTEN_BACKLOG = 4096;

/** On every answer; the safe defaults for an API that serves no pages and nothing cacheable. */
const SAFE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
} as const;

const SAFE_HEADER_ENTRIES = Object.entries(SAFE_HEADERS);

const mergedVary = new Map<string, string>();

/**
 * One Vary value holding both lists' names once each. The same few pairs come
 * up on every answer (CORS's `Origin`, tRPC's `trpc-accept, accept`), so
 * merged values are kept.
 */
function mergeVary(current: ReturnType<FastifyReply['getHeader']>, theirs: string | null): string | undefined {
  const ours = Array.isArray(current) ? current.join(', ') : current === undefined ? '' : String(current);
  const key = `${ours}\n${theirs ?? ''}`;
  let merged = mergedVary.get(key);
  if (merged === undefined) {
    const names = [ours, theirs ?? '']
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    merged = [...new Set(names)].join(', ');
    if (mergedVary.size >= 64) mergedVary.clear();
    mergedVary.set(key, merged);
  }
  return merged || undefined;
}

/** Builds the HTTP app without listening, so tests can `inject` or listen on port 0. */
export async function buildApp(options: AppOptions, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    genReqId: () => randomUUID(),
    // tRPC batches put several procedure names in one path segment.
    routerOptions: { maxParamLength: 5000 },
    bodyLimit: BODY_LIMIT_BYTES,
    requestTimeout: 30_000,
    frameworkErrors: (error, request, reply) => {
      handleFrameworkError(error, request, reply);
    },
    clientErrorHandler: handleClientError,
  });

  await app.register(cors, {
    origin: options.corsOrigins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'x-trpc-source'],
    maxAge: 600,
  });
  registerRequestGuard(app);

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [name, value] of SAFE_HEADER_ENTRIES) reply.header(name, value);
    if (!(payload instanceof Response)) return payload;
    // tRPC answers with a web Response, whose status and headers Fastify applies after
    // this hook (replacing ours) and whose body it pipes as a chunked web stream.
    const contentType = payload.headers.get('content-type') ?? '';
    const stream = contentType.startsWith('text/event-stream') || payload.headers.has('transfer-encoding');
    if (stream || payload.body === null) {
      // Put the safe values on the Response itself: its SSE `no-cache` would replace
      // `no-store` (`no-transform` keeps proxies from buffering or compressing an event
      // stream), and its `vary` the `Vary: Origin` CORS set.
      for (const [name, value] of SAFE_HEADER_ENTRIES) payload.headers.set(name, value);
      if (stream) payload.headers.set('cache-control', 'no-store, no-transform');
      const vary = mergeVary(reply.getHeader('vary'), payload.headers.get('vary'));
      if (vary) payload.headers.set('vary', vary);
      return payload;
    }
    // A whole JSON answer: sent as one string with its Content-Length, a single write,
    // rather than a web stream piped chunk by chunk.
    reply.code(payload.status);
    for (const [name, value] of payload.headers) {
      if (name === 'vary') reply.header('vary', mergeVary(reply.getHeader('vary'), value));
      else if (!(name in SAFE_HEADERS)) reply.header(name, value);
    }
    return payload.text();
  });

  app.setErrorHandler(handleFastifyError);
  app.setNotFoundHandler((request, reply) => sendHttpError(404, request, reply));

  registerHealthRoutes(app, deps, { cacheMs: options.readinessCacheMs });

  // The caller may hand over its whole config (the server's holds secrets): procedures see only theirs.
  const config = toApiConfig(deps.config);
  const usage = createUsageMeter(config);
  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      // One HTTP request cannot carry unbounded work; the client splits at the same size.
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: async ({ req }) =>
        createContext({ ...deps, config, usage, logger: req.log }, await deps.verifyToken(req.headers.authorization), req.id),
      // A rate-limited call tells the client when to come back.
      responseMeta({ errors }) {
        const retryAfter = errors
          .map((e) => (e.cause instanceof AppError ? e.cause.retryAfterSeconds : undefined))
          .find((seconds) => seconds !== undefined);
        return retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } };
      },
      onError({ error, path, req }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          req.log.error({ err: error.cause ?? error, path }, 'request failed');
        }
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  return app;
}
