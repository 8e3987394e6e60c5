import { readFileSync, statSync } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';

import { startLocalPostgres } from '@coach/local-stack';
import { describe, expect, it } from 'vitest';

describe('startLocalPostgres', () => {
  it('stops promptly when the server was already stopped from outside (as by a Ctrl-C in the same terminal)', async () => {
    const dataDir = path.resolve(import.meta.dirname, `../../../.data/test-pg-stop-${process.pid}`);
    const pg = await startLocalPostgres({ dataDir, persistent: false });
    try {
      const pidFile = path.join(pg.dataDir, 'postmaster.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
      await expect
        .poll(() => {
          try {
            process.kill(pid, 0);
            return 'running';
          } catch {
            return 'gone';
          }
        }, { timeout: 10_000 })
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
  it.runIf(process.getuid?.() === 0)('keeps a shared parent directory (sticky, world-writable) as it was', async () => {
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
  }, 60_000);
});
