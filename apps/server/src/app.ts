import cors from '@fastify/cors';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';

import { AppError, appRouter, createContext, type ApiDeps, type AppRouter, type TokenVerifier } from '@coach/api';
import { isMigrated } from '@coach/db';

import { handleClientError, handleFastifyError, handleFrameworkError, sendHttpError } from './http-errors.ts';

export interface AppOptions {
  corsOrigins: string[];
  /** The process's pino logger; omitted in tests for silence. */
  logger?: FastifyBaseLogger;
}

export interface AppDeps extends Omit<ApiDeps, 'logger'> {
  verifyToken: TokenVerifier;
}

const HEALTH_TIMEOUT_MS = 3_000;
const MAX_BATCH_SIZE = 20;

/**
 * Connections the kernel may hold before the server accepts them. Node's default
 * (511) is below Linux's usual cap (somaxconn, 4096, which applies if lower): in a
 * burst of new connections the kernel drops SYNs past it, and those clients wait
 * 1-31 s in retransmits or are reset.
 */
export const LISTEN_BACKLOG = 4096;

/** Builds the HTTP app without listening, so tests can `inject` or listen on port 0. */
export async function buildApp(options: AppOptions, deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    genReqId: () => randomUUID(),
    // tRPC batches put several procedure names in one path segment.
    routerOptions: { maxParamLength: 5000 },
    bodyLimit: 1024 * 1024,
    requestTimeout: 30_000,
    frameworkErrors: handleFrameworkError,
    clientErrorHandler: handleClientError,
  });

  await app.register(cors, {
    origin: options.corsOrigins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'x-trpc-source'],
    maxAge: 600,
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    // tRPC answers with a web Response whose headers Fastify applies after this hook,
    // replacing ours: its SSE `no-cache` would replace `no-store`, and its `vary` the
    // `Vary: Origin` CORS set. Put the safe values on the Response itself (`no-transform`
    // keeps proxies from buffering or compressing an event stream).
    if (payload instanceof Response) {
      const stream = payload.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
      payload.headers.set('cache-control', stream ? 'no-store, no-transform' : 'no-store');
      payload.headers.set('x-content-type-options', 'nosniff');
      payload.headers.set('x-frame-options', 'DENY');
      const vary = reply.getHeader('vary');
      if (vary !== undefined && payload.headers.has('vary')) {
        const names = [String(vary), payload.headers.get('vary') ?? ''].flatMap((v) => v.split(',')).map((v) => v.trim());
        payload.headers.set('vary', [...new Set(names.filter(Boolean))].join(', '));
      }
    }
  });

  app.setErrorHandler(handleFastifyError);
  app.setNotFoundHandler((request, reply) => sendHttpError(404, request, reply));

  app.get('/healthz', async (_req, reply) => {
    const check = async (fn: () => Promise<unknown>) => {
      try {
        const ok = await Promise.race([
          fn().then((v) => v !== false),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS).unref()),
        ]);
        return ok ? 'ok' : 'unavailable';
      } catch {
        return 'unavailable';
      }
    };
    const [database, storage, queue] = await Promise.all([
      check(() => isMigrated(deps.db)),
      check(() => deps.storage.ping()),
      check(() => deps.queue.ping()),
    ]);
    const healthy = database === 'ok' && storage === 'ok' && queue === 'ok';
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? 'ok' : 'unavailable', database, storage, queue });
  });

  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      // One HTTP request cannot carry unbounded work; the client splits at the same size.
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: async ({ req }) =>
        createContext({ ...deps, logger: req.log }, await deps.verifyToken(req.headers.authorization), req.id),
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
