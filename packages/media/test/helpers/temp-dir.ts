import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll } from 'vitest';

/** A fresh directory for one test file's generated media, removed afterwards. */
export function useTempDir(): { path: (name: string) => string } {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'coach-media-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return { path: (name) => path.join(dir, name) };
}
