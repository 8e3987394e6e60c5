import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createSqsQueue } from '@coach/aws';
import { findJob } from '@coach/db';
import { silentLogger } from '@coach/jobs';
import { videoFromImage } from '@coach/media/testing';
import { startAnalysisWorker, toWorkerSettings, WorkerSettingsSchema } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { workerProcessEnv } from './helpers/worker-env.ts';

let server: TestServer;
let dir: string;
let video: Buffer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'worker-process-'));
  // Long enough (at 10 fps, ~200 frames) that the job is still running when the test acts.
  const file = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'clip.mp4'), seconds: 20, fps: 25 });
  video = await readFile(file);
  server = await startTestServer({ visibilityTimeoutSeconds: 5, config: { maxUploadBytes: 50 * 1024 * 1024 } });
}, 120_000);
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

/** The production entry point, as its own OS process, against this test's database and emulator. */
function spawnWorker(extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...workerProcessEnv(server),
      WORKER_LEASE_SECONDS: '5',
      WORKER_VISIBILITY_TIMEOUT_SECONDS: '5',
      POSE_THREADS: '1',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

async function queuedJob() {
  const client = server.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Process', playerIds: [] });
  const started = await client.upload.initiate.mutate({ sessionId, sizeBytes: video.byteLength, sampleFps: 10 });
  await fetch(putUrl(started), { method: 'PUT', headers: started.headers, body: video });
  await client.upload.complete.mutate({ jobId: started.jobId });
  return started.jobId;
}

const progressed = (jobId: string) =>
  waitFor(
    async () => {
      const job = await findJob(server.db, { jobId });
      return job?.status === 'processing' && job.progressPercent > 0 ? job : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: 'the job to make progress' },
  );

describe('the worker process', () => {
  it('killed mid-job (SIGKILL): another worker finishes the job after the lease lapses, with exactly one result', async () => {
    const jobId = await queuedJob();
    const first = spawnWorker();
    const claimed = await progressed(jobId);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const settings = toWorkerSettings(WorkerSettingsSchema.parse({ POSE_THREADS: '2' }));
    settings.worker.waitTimeSeconds = 1;
    const second = await startAnalysisWorker(
      {
        db: server.db,
        storage: server.storage,
        queue: server.queue,
        deadLetterQueue: createSqsQueue({ sqs: server.sqs, queueUrl: server.dlqUrl }),
        logger: silentLogger,
      },
      settings,
    );
    try {
      const job = await waitFor(
        async () => {
          const row = await findJob(server.db, { jobId });
          return row?.status === 'completed' ? row : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 200, what: 'the second worker to finish' },
      );
      expect(job.attempts).toBe(claimed.attempts + 1);
      expect(job.leaseOwner).toBeNull();
      expect((job.result as { frameCount: number }).frameCount).toBeGreaterThan(150);
    } finally {
      await second.stop();
    }
    expect(await server.drainQueue()).toHaveLength(0);
    expect(await server.drainQueue(server.dlqUrl)).toHaveLength(0);
  }, 180_000);

  it('asked to stop (SIGTERM) past its budget: releases the job for another worker and exits cleanly', async () => {
    const jobId = await queuedJob();
    const worker = spawnWorker({ WORKER_SHUTDOWN_BUDGET_SECONDS: '0' });
    await progressed(jobId);
    worker.child.kill('SIGTERM');
    const exit = await worker.exited;
    expect({ code: exit.code, stderr: exit.stderr }).toEqual({ code: 0, stderr: '' });
    const job = await findJob(server.db, { jobId });
    expect(job).toMatchObject({ status: 'queued', leaseToken: null });
    // The message is visible again at once, not after the visibility timeout.
    const messages = await server.queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });
    expect(messages.map((m) => (JSON.parse(m.body) as { job_id: string }).job_id)).toEqual([jobId]);
    await server.queue.delete(messages[0]?.receiptHandle ?? '');
  }, 120_000);
});
