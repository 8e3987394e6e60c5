/**
 * What service keys cost the database: a busy key is read once per
 * SERVICE_KEY_CACHE_MS and recorded as used once per SERVICE_KEY_TOUCH_SECONDS
 * however many calls it makes; a flood of keys nobody issued is refused with
 * 401, one primary-key read each, and never a 5xx.
 */
import { randomBytes } from 'node:crypto';

import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SERVICE_KEY_CACHE_MS, SERVICE_KEY_TOUCH_SECONDS } from '@coach/api';

import { orgUserX1 } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

const CONCURRENCY = 10;

/** Statements the app sends that name the service_keys table, by kind. */
const keyQueries = { reads: 0, writes: 0 };
const countKeyQueries: KyselyPlugin = {
  transformQuery(args) {
    if (/service_?keys/i.test(JSON.stringify(args.node))) {
      if (args.node.kind === 'SelectQueryNode') keyQueries.reads += 1;
      if (args.node.kind === 'UpdateQueryNode') keyQueries.writes += 1;
    }
    return args.node;
  },
  transformResult: (args) => Promise.resolve(args.result),
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ wrapDb: (db) => db.withPlugin(countKeyQueries) });
});
afterAll(() => server?.close());

/** `total` GETs of sessions.list with this credential, CONCURRENCY at a time: statuses and time taken. */
async function listSessions(total: number, credential: (i: number) => string) {
  const statuses: Record<number, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const i = next++;
        const response = await fetch(`${server.trpcUrl}/sessions.list`, {
          headers: { authorization: `Bearer ${credential(i)}` },
        });
        await response.arrayBuffer();
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      }
    }),
  );
  return { statuses, elapsedMs: performance.now() - started };
}

describe('service keys under load', () => {
  it('a busy key costs one read per cache window and one last_used_at write per minute', async () => {
    const total = scaled(500, 5_000);
    const { secret } = await server
      .clientFor(orgUserX1)
      .serviceKeys.create.mutate({ name: 'busy service', scopes: ['sessions:read'] });
    keyQueries.reads = 0;
    keyQueries.writes = 0;
    const { statuses, elapsedMs } = await listSessions(total, () => secret);

    expect(statuses).toEqual({ 200: total });
    // The first read and one more per window passed; concurrent calls share a read.
    expect(keyQueries.reads).toBeLessThanOrEqual(1 + Math.ceil(elapsedMs / SERVICE_KEY_CACHE_MS));
    expect(keyQueries.writes).toBe(1 + Math.floor(elapsedMs / (SERVICE_KEY_TOUCH_SECONDS * 1000)));
    await recordScenario({
      scenario: 'busy service key',
      scale: `${total} sessions.list × ${CONCURRENCY} concurrent, one key`,
      requests: total,
      jobs: 0,
      messages: 0,
      results: 0,
      lost: 0,
      duplicated: 0,
      http5xx: 0,
      notes: `${keyQueries.reads} service_keys reads, ${keyQueries.writes} last_used_at writes in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(total / (elapsedMs / 1000))} requests/s)`,
    });
  }, 120_000);

  it('a flood of keys nobody issued is refused 401, one read each, and no 5xx', async () => {
    const total = scaled(500, 5_000);
    const forged = Array.from(
      { length: total },
      () => `cpk_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`,
    );
    keyQueries.reads = 0;
    keyQueries.writes = 0;
    const { statuses, elapsedMs } = await listSessions(total, (i) => forged[i] ?? '');

    expect(statuses).toEqual({ 401: total });
    expect(keyQueries.reads).toBe(total);
    expect(keyQueries.writes).toBe(0);
    await recordScenario({
      scenario: 'forged service keys',
      scale: `${total} sessions.list × ${CONCURRENCY} concurrent, each a random cpk_ key`,
      requests: total,
      jobs: 0,
      messages: 0,
      results: 0,
      lost: 0,
      duplicated: 0,
      http5xx: 0,
      notes: `all 401 SERVICE_KEY_INVALID, ${keyQueries.reads} primary-key reads in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(total / (elapsedMs / 1000))} requests/s)`,
    });
  }, 120_000);
});
