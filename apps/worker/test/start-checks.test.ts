import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { workerProcessEnv } from './helpers/worker-env.ts';

let server: TestServer;
const children: ChildProcess[] = [];
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server.close();
});

/** The production worker entry point as its own process; resolves when it exits. */
function runWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...workerProcessEnv(server),
      POSE_THREADS: '1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stderr })),
  );
}

it('refuses to start with a missing bucket or dead-letter queue, naming each setting', async () => {
  const bucket = `missing-${randomBytes(4).toString('hex')}`;
  const dlq = `${server.endpoint}/000000000000/missing-${randomBytes(4).toString('hex')}`;
  const { code, stderr } = await runWorker({ S3_COACH_VIDEOS_BUCKET: bucket, SQS_VIDEO_ANALYSIS_DLQ_URL: dlq });
  expect(code).toBe(1);
  expect(stderr).toContain(`S3_COACH_VIDEOS_BUCKET: bucket ${bucket} does not exist at ${server.endpoint}`);
  expect(stderr).toContain(`SQS_VIDEO_ANALYSIS_DLQ_URL: queue ${dlq} does not exist`);
  expect(stderr).not.toContain('SQS_VIDEO_ANALYSIS_QUEUE_URL');
}, 60_000);
