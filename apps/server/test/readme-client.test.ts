import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const script = path.join(root, 'scripts/try-client.ts');

let server: TestServer;
let worker: Worker;
let dir: string;
beforeAll(async () => {
  server = await startTestServer();
  worker = await startTestWorker(server);
  dir = await mkdtemp(path.join(tmpdir(), 'readme-client-'));
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("README's typed-client example", () => {
  it('is scripts/try-client.ts, word for word', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## With the typed client'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(await readFile(script, 'utf8'));
    expect(section).toMatch(/pnpm exec tsx scripts\/try-client\.ts/);
  });

  it('runs from the repository root as the README says (pnpm exec tsx), uploading and following a job to its end', async () => {
    const video = path.join(dir, 'video.mp4');
    await writeFile(video, randomBytes(300_000)); // not a video: the worker fails it as NOT_A_VIDEO
    const token = await server.tokenFor(coachA);
    const { stdout } = await run('pnpm', ['exec', 'tsx', 'scripts/try-client.ts', video], {
      cwd: root,
      env: { ...process.env, API_URL: server.trpcUrl, TOKEN: token },
      timeout: 60_000,
    });
    expect(stdout).toContain('Video uploaded and queued for analysis.');
    expect(stdout).toMatch(/^failed 0 NOT_A_VIDEO$/m);
  }, 90_000);

  it('says why when the token is refused, and exits 1', async () => {
    const video = path.join(dir, 'small.mp4');
    await writeFile(video, randomBytes(1000));
    const failure = await run('pnpm', ['exec', 'tsx', 'scripts/try-client.ts', video], {
      cwd: root,
      env: { ...process.env, API_URL: server.trpcUrl, TOKEN: 'not-a-token' },
      timeout: 60_000,
    }).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr.trim()).toBe('TOKEN_INVALID');
  }, 90_000);
});
