import { Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createDb, sql } from '@coach/db';

import { createTestDatabase, type TestDatabase } from '../../../test/helpers/database.ts';
import { memoryLogger } from '../../../test/helpers/memory-log.ts';
import { createLogger, isPrettyOutput } from '../src/logger.ts';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ maxConnections: 2 });
});
afterAll(async () => {
  await database?.drop();
});

function memorySink() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { sink, lines };
}

describe('the process logger', () => {
  it('pretty-prints for a terminal and writes JSON lines to anything else', () => {
    expect(isPrettyOutput({ isTTY: true })).toBe(true);
    expect(isPrettyOutput({ isTTY: false })).toBe(false);
    expect(isPrettyOutput({})).toBe(false);
  });

  it('in pretty mode, writes one readable line per entry with its level, message and fields, still redacted', () => {
    const { sink, lines } = memorySink();
    const logger = createLogger({ level: 'info', pretty: true }, sink);
    logger.info({ port: 5432 }, 'embedded Postgres started');
    logger.info({ req: { method: 'GET', url: '/trpc/jobs.get?access_token=secret-123&input=%7B%7D' } }, 'incoming request');
    logger.debug('below the level');

    const text = lines.join('\n');
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: embedded Postgres started$/);
    expect(text).toContain('port: 5432');
    expect(text).not.toMatch(/^\{/m);
    expect(text).toContain('access_token=[Redacted]');
    expect(text).not.toContain('secret-123');
    expect(text).not.toContain('below the level');
  });

  it('logs a database error without the pg client the pool attaches to it (its secretKey, sockets and buffers)', async () => {
    const { logger, lines } = memoryLogger('info');
    const failures: unknown[] = [];
    const db = createDb({ connectionString: database.url, onPoolError: (error) => failures.push(error) });
    try {
      const { pid } = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0] ?? { pid: 0 };
      // An idle pooled connection ended by the server, as by a Postgres shutdown or restart.
      const other = createDb({ connectionString: database.url });
      await sql`select pg_terminate_backend(${pid})`.execute(other);
      await other.destroy();
      await expect.poll(() => failures.length).toBeGreaterThan(0);
      expect(failures[0]).toHaveProperty('client');

      logger.warn({ err: failures[0] }, 'idle database connection failed');
      const [entry] = lines.map((line) => JSON.parse(line) as { err: Record<string, unknown> });
      expect(entry?.err).toMatchObject({
        type: 'DatabaseError',
        code: '57P01',
        message: expect.stringContaining('terminating connection'),
      });
      expect(entry?.err).not.toHaveProperty('client');
      expect(lines[0]).not.toContain('secretKey');
      expect(lines[0]?.length).toBeLessThan(2500);
    } finally {
      await db.destroy();
    }
  });
});
