import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSqsQueue } from '@coach/aws';
import { findJob } from '@coach/db';
import { silentLogger, startOutboxRelay, type OutboxRelay } from '@coach/jobs';
import { videoFromImage } from '@coach/media/testing';
import { createPosePool, type PosePool } from '@coach/pose';
import { createSupervisedPosePool, createVideoAnalyzer, DEFAULT_WORKER_CONFIG, startWorker, type Worker } from '@coach/worker';

import {
  callApi,
  createSession,
  installResultLedger,
  queueDepth,
  RecordingQueue,
  resultWrites,
  uploadedJob,
} from '../../../test/helpers/faults.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { workerProcessEnv } from './helpers/worker-env.ts';

/**
 * The worker process killed (SIGKILL) at each step of a job: after receiving
 * the message, after claiming the job, mid-analysis, after writing the result
 * but before deleting the message, and after deleting it. A fresh worker with
 * short leases and a frequent sweeper takes over: every job ends exactly once,
 * with one result, and nothing reaches the dead-letter queue.
 */

type CrashStep = 'received' | 'claimed' | 'mid-analysis' | 'result-written' | 'deleted';

/** What each crash leaves, and how many claims the job has once a fresh worker finished it. */
const STEPS: { step: CrashStep; leftStatus: string; leftAttempts: number; finalAttempts: number }[] = [
  { step: 'received', leftStatus: 'queued', leftAttempts: 0, finalAttempts: 1 },
  { step: 'claimed', leftStatus: 'processing', leftAttempts: 1, finalAttempts: 2 },
  { step: 'mid-analysis', leftStatus: 'processing', leftAttempts: 1, finalAttempts: 2 },
  { step: 'result-written', leftStatus: 'completed', leftAttempts: 1, finalAttempts: 1 },
  { step: 'deleted', leftStatus: 'completed', leftAttempts: 1, finalAttempts: 1 },
];
const STEP_NAMES: Record<CrashStep, string> = {
  received: 'after receive, before claim',
  claimed: 'after claim, before analysis',
  'mid-analysis': 'mid-analysis',
  'result-written': 'after the result, before deleting the message',
  deleted: 'after deleting the message',
};
const LEASE_SECONDS = 2;
const ROUNDS = scaled(1, 3);

/** One crash: its own server (database, bucket, queue), so no crash sees another's messages. */
interface CrashRun {
  step: CrashStep;
  server: TestServer;
  sent: RecordingQueue;
  jobId: string;
}

let dir: string;
let clip: Uint8Array;
let posePool: Promise<PosePool> | undefined;
const runs: CrashRun[] = [];
const workers: Worker[] = [];
const relays: OutboxRelay[] = [];
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'crash-steps-'));
  clip = await readFile(
    await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'clip.mp4'), seconds: 1, fps: 25 }),
  );
}, 60_000);

afterAll(async () => {
  // A harness still waiting for its step (a failed run) must not outlive the test.
  for (const child of children) child.kill('SIGKILL');
  for (const worker of workers) await worker.stop();
  for (const relay of relays) await relay.stop();
  await (await posePool?.catch(() => undefined))?.close();
  for (const run of runs) await run.server.close();
  await rm(dir, { recursive: true, force: true });
});

/** The crash harness as its own OS process, against one step's database, bucket and queue. */
function crashWorker(server: TestServer, step: CrashStep) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fixtures', 'crash-worker.ts')], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...workerProcessEnv(server),
      POSE_THREADS: '1',
      CRASH_STEP: step,
      CRASH_LEASE_SECONDS: String(LEASE_SECONDS),
      LOG_LEVEL: 'silent',
    },
    // stdin stays open while this test runs: the harness exits when it closes, should this process die first.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ signal, stdout, stderr });
    }),
  );
}

/** One job, met by a worker process that dies at `step`; checks what the crash left. */
async function crashOnce(step: CrashStep): Promise<CrashRun> {
  const expected = STEPS.find((s) => s.step === step);
  if (!expected) throw new Error(step);
  let sent: RecordingQueue | undefined;
  const server = await startTestServer({
    visibilityTimeoutSeconds: LEASE_SECONDS,
    // Every message the API and the sweeper's outbox rows send, counted.
    wrapQueue: (queue) => (sent = new RecordingQueue(queue)),
  });
  if (!sent) throw new Error('queue not wrapped');
  await installResultLedger(server.db);
  const token = await server.tokenFor(coachA);
  const sessionId = await createSession(server, token);
  const jobId = await uploadedJob(server, token, sessionId, clip, { sampleFps: 5, includeFrames: true });
  const run: CrashRun = { step, server, sent, jobId };
  runs.push(run);
  const completed = await callApi(server, token, 'upload.complete', { jobId });
  expect(completed.kind).toBe('ok');

  const exit = await crashWorker(server, step);
  expect({ signal: exit.signal, stderr: exit.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
  const crash = /CRASH (\S+) (\S+)/.exec(exit.stdout);
  expect(crash?.[1]).toBe(step);
  // The hint is the job id or a storage key under the job's video folder.
  const job = await findJob(server.db, { jobId });
  const videoFolder = job ? job.s3Key.slice(0, job.s3Key.lastIndexOf('/') + 1) : '-';
  expect(crash?.[2] === jobId || crash?.[2]?.startsWith(videoFolder)).toBe(true);
  expect(job).toMatchObject({ status: expected.leftStatus, attempts: expected.leftAttempts });
  return run;
}

describe('the worker killed at each step of a job', () => {
  it('a fresh worker takes over: every job ends exactly once, one result each, dead-letter queue empty', async () => {
    // The fresh workers' pose threads start meanwhile (one pool between them).
    posePool = createSupervisedPosePool(() => createPosePool({ model: 'lightning', threads: 2 }), silentLogger);
    // The steps run side by side, their rounds one after another.
    const crashed = (
      await Promise.all(
        STEPS.map(async ({ step }) => {
          const out: CrashRun[] = [];
          for (let round = 0; round < ROUNDS; round++) out.push(await crashOnce(step));
          return out;
        }),
      )
    ).flat();
    const pose = await posePool;
    const started = Date.now();

    // The fresh workers: short leases, the sweeper every half second.
    for (const run of crashed) {
      const { server } = run;
      relays.push(startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 100 }));
      workers.push(
        startWorker(
          {
            db: server.db,
            storage: server.storage,
            queue: createSqsQueue({ sqs: server.sqs, queueUrl: server.queueUrl }),
            deadLetterQueue: createSqsQueue({ sqs: server.sqs, queueUrl: server.dlqUrl }),
            analyzer: createVideoAnalyzer({
              storage: server.storage,
              pose,
              model: { name: 'movenet-singlepose-lightning', version: 'test' },
            }),
            logger: silentLogger,
          },
          {
            ...DEFAULT_WORKER_CONFIG,
            leaseSeconds: LEASE_SECONDS,
            // Production keeps visibility well above the heartbeat interval (90 s against 20 s);
            // at 2 s against 0.67 s a starved event loop would be redelivered over and over.
            visibilityTimeoutSeconds: 5 * LEASE_SECONDS,
            waitTimeSeconds: 1,
            backoffBaseSeconds: 0,
            backoffMaxSeconds: 0,
            shutdownBudgetMs: 1_000,
            sweepIntervalMs: 500,
            abandonedGraceSeconds: 1,
            staleQueuedSeconds: 5,
          },
        ),
      );
    }

    const finished: { run: CrashRun; writes: number }[] = [];
    for (const run of crashed) {
      const { server, jobId } = run;
      const expected = STEPS.find((s) => s.step === run.step);
      const job = await waitFor(
        async () => {
          const row = await findJob(server.db, { jobId });
          return row?.status === 'completed' || row?.status === 'failed' ? row : undefined;
        },
        { what: `the job after a crash ${run.step} to finish`, timeoutMs: 60_000, intervalMs: 100 },
      );
      // Every copy of every message consumed: none left to be redelivered, none dead-lettered.
      await waitFor(async () => (await queueDepth(server, server.queueUrl)) === 0, {
        what: `the queue after a crash ${run.step} to empty`,
        timeoutMs: 60_000,
      });
      expect(await queueDepth(server, server.dlqUrl)).toBe(0);
      expect(job).toMatchObject({
        status: 'completed',
        attempts: expected?.finalAttempts,
        leaseToken: null,
        progressPercent: 100,
      });
      expect((job.result as { frameCount: number }).frameCount).toBeGreaterThan(0);
      const writes = (await resultWrites(server.db)).get(jobId) ?? 0;
      expect(writes).toBe(1);
      finished.push({ run, writes });
    }
    const recoveredMs = Date.now() - started;

    for (const { step, leftStatus, leftAttempts, finalAttempts } of STEPS) {
      const mine = finished.filter((f) => f.run.step === step);
      await recordScenario({
        scenario: `worker killed ${STEP_NAMES[step]}`,
        scale: `${mine.length} job(s), each met by a worker process killed (SIGKILL) at that step; fresh worker with ${LEASE_SECONDS} s leases, sweeper every 0.5 s`,
        requests: 3 * mine.length,
        jobs: mine.length,
        messages: mine.reduce((n, f) => n + f.run.sent.accepted.length, 0),
        results: mine.reduce((n, f) => n + f.writes, 0),
        lost: mine.filter((f) => f.writes === 0).length,
        duplicated: mine.filter((f) => f.writes > 1).length,
        http5xx: 0,
        notes: `left ${leftStatus} (attempts ${leftAttempts}); finished completed with attempts ${finalAttempts}; every crashed job done ${recoveredMs} ms after the fresh workers started; DLQ empty`,
      });
    }
  }, 180_000);
});
