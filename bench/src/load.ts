import autocannon from 'autocannon';

import { percentile } from './stats.ts';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  connections: number;
  /**
   * A fixed body, or one built per request (e.g. a different job id each time),
   * optionally with headers of its own (e.g. another user's token).
   */
  body: string | (() => string | { body: string; headers: Record<string, string> });
  /** Run for this long… */
  durationSeconds?: number;
  /** …or send exactly this many requests. */
  amount?: number;
}

export interface LoadResult {
  /** 2xx answers per second of wall time. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers, socket errors and timeouts. */
  errors: number;
  ok: number;
  seconds: number;
}

/**
 * One autocannon run on loopback (POST, JSON). Latencies are taken from every
 * 2xx response at sub-millisecond resolution (autocannon's own histogram
 * rounds to whole milliseconds, too coarse at one connection).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  // autocannon resolves on its next one-second tick; time the run to the last answer instead.
  let lastResponse = process.hrtime.bigint();
  const { body } = options;
  const started = process.hrtime.bigint();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds ?? 5 }),
        timeout: 10,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...options.headers },
            ...(typeof body === 'string'
              ? { body }
              : {
                  setupRequest: (req) => {
                    const next = body();
                    return typeof next === 'string'
                      ? { ...req, body: next }
                      : { ...req, body: next.body, headers: { ...req.headers, ...next.headers } };
                  },
                }),
          },
        ],
      },
      (error, done) => (error ? reject(error as Error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      lastResponse = process.hrtime.bigint();
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else non2xx += 1;
    });
  });
  const seconds = Number(lastResponse - started) / 1e9;
  return {
    reqPerSec: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: non2xx + result.errors,
    ok: latencies.length,
    seconds,
  };
}
