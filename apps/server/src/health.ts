import type { FastifyInstance } from 'fastify';

import { AwsMisconfiguredError } from '@coach/aws';
import { isMigrated } from '@coach/db';

import type { AppDeps } from './app.ts';

const CHECK_TIMEOUT_MS = 3_000;

/** How long a readiness answer is reused: probes from every load balancer node cost one check. */
export const READINESS_CACHE_MS = 5_000;

type Dependency = 'database' | 'storage' | 'queue';

/**
 * `GET /healthz`: liveness. The process is up and serving; no I/O, so a
 * probe can never pile work onto a struggling database.
 *
 * `GET /readyz`: readiness. Postgres (migrated), S3 and SQS answer. The result
 * is kept for `cacheMs` and concurrent probes share one check in flight. The
 * answer says only ok or unavailable; which dependency failed goes to the log.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: Pick<AppDeps, 'db' | 'storage' | 'queue' | 'now'>,
  options: { cacheMs?: number } = {},
): void {
  const cacheMs = options.cacheMs ?? READINESS_CACHE_MS;
  const now = () => (deps.now ? deps.now().getTime() : Date.now());
  let last: { ready: boolean; at: number } | undefined;
  let inFlight: Promise<boolean> | undefined;

  const check = async (): Promise<boolean> => {
    const results = await Promise.all([
      probe('database', () => isMigrated(deps.db)),
      probe('storage', () => deps.storage.ping()),
      probe('queue', () => deps.queue.ping()),
    ]);
    const failed = results.filter((r) => !r.ok);
    for (const { dependency, error } of failed) {
      // A missing or refused bucket or queue names the setting to fix; anything else may pass by itself.
      if (error instanceof AwsMisconfiguredError) app.log.error({ dependency, err: error }, `not ready: ${error.message}`);
      else app.log.warn({ dependency, err: error }, 'readiness check failed');
    }
    last = { ready: failed.length === 0, at: now() };
    return last.ready;
  };

  const ready = (): Promise<boolean> => {
    if (last && now() - last.at < cacheMs) return Promise.resolve(last.ready);
    inFlight ??= check().finally(() => (inFlight = undefined));
    return inFlight;
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = await ready();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable' });
  });
}

async function probe(
  dependency: Dependency,
  fn: () => Promise<unknown>,
): Promise<{ dependency: Dependency; ok: boolean; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answered = await Promise.race([
      fn().then((value) => value !== false),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return answered ? { dependency, ok: true } : { dependency, ok: false, error: new Error('not migrated') };
  } catch (error) {
    return { dependency, ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}
