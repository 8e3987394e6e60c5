import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';

import { startLocalPostgres } from '@coach/local-stack';

const dataDir = path.resolve(import.meta.dirname, `../../../.data/test-pg-orphan-${process.pid}`);
let realDir: string | undefined;

afterEach(async () => {
  if (realDir) {
    try {
      process.kill(Number(readFileSync(path.join(realDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGKILL');
    } catch {
      // Already gone.
    }
    await rm(realDir, { recursive: true, force: true });
    await rm(`${realDir}.owner`, { force: true });
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs the fixture until Postgres is up, then kills it with SIGKILL; resolves with the port it used. */
async function startThenKill9(): Promise<number> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'fixtures', 'hold-postgres.ts'), dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`fixture exited with ${code} before Postgres was ready`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return port;
}

describe('startLocalPostgres after its previous owner was killed with SIGKILL', () => {
  it('stops the orphaned server and starts again on the same data, instead of failing with `undefined`', async () => {
    const oldPort = await startThenKill9();
    // The orphan still runs: this is the state `pnpm dev` found after `kill -9`.
    const orphan = new pg.Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${oldPort}/coach_plus` });
    await orphan.connect();
    await orphan.query('create table kept (id int)');
    await orphan.end();

    const server = await startLocalPostgres({ dataDir, database: 'coach_plus' });
    realDir = server.dataDir;
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      // Same cluster, data kept.
      const { rowCount } = await client.query("select 1 from pg_tables where tablename = 'kept'");
      await client.end();
      expect(rowCount).toBe(1);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
