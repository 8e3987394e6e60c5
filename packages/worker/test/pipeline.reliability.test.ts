import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSqsQueue, type ObjectStorage } from '@coach/aws';
import { AnalysisResultSchema, silentLogger, startOutboxRelay, type OutboxRelay } from '@coach/jobs';
import { videoFromImage } from '@coach/media/testing';
import { startAnalysisWorker, toWorkerSettings, WorkerSettingsSchema, type Worker } from '@coach/worker';

import { dataOf, HttpTally, inParallel } from '../../../test/helpers/http-tally.ts';
import type { Identity } from '../../../test/helpers/identities.ts';
import { PRODUCTION_OUTBOX, recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

/**
 * The whole pipeline under a batch of uploads: real HTTP API, outbox relay,
 * SQS and S3 on the emulator, and the real worker (ffmpeg, MoveNet). Clips are
 * tiny and sampled sparsely because pose analysis is CPU-bound.
 */

const coaches: Identity[] = [0, 1, 2].map((i) => ({
  userId: `pipeline-coach-${i}`,
  role: 'coach_pro_plus',
  orgId: null,
  features: null,
}));
const TERMINAL = new Set(['completed', 'failed', 'rejected', 'expired', 'aborted']);

let server: TestServer;
let relay: OutboxRelay;
let workers: Worker[] = [];
let dir: string;
/** Writes of each key by the worker: a job analysed twice writes its metrics.json twice. */
const puts = new Map<string, number>();

/** Passes every call through; only counts the worker's writes (observation, not a fault). */
function countingWrites(inner: ObjectStorage): ObjectStorage {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'putObject') {
        return (key: string, body: Uint8Array | string, contentType: string) => {
          puts.set(key, (puts.get(key) ?? 0) + 1);
          return target.putObject(key, body, contentType);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'pipeline-reliability-'));
  server = await startTestServer({
    config: { maxUploadBytes: 50 * 1024 * 1024 },
    outbox: PRODUCTION_OUTBOX,
  });
  relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger });
  // Two workers compete for the queue, as two worker processes would; one pose thread each on this small machine.
  const settings = toWorkerSettings(WorkerSettingsSchema.parse({ POSE_THREADS: '1' }));
  // Short polls, so the workers stop promptly at the end.
  settings.worker.waitTimeSeconds = 1;
  const deps = {
    db: server.db,
    storage: countingWrites(server.storage),
    queue: server.queue,
    deadLetterQueue: createSqsQueue({ sqs: server.sqs, queueUrl: server.dlqUrl }),
    logger: silentLogger,
  };
  workers = await Promise.all([startAnalysisWorker(deps, settings), startAnalysisWorker(deps, settings)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await relay?.stop();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function queueDepth(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await server.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

describe('pipeline: uploads through the worker', () => {
  it(
    'brings every job to one terminal outcome by a deadline and leaves both queues empty',
    async () => {
      const total = scaled(8, 60);
      // Every fourth upload is not a video.
      const isVideo = (i: number) => i % 4 !== 0;
      const notVideos = Array.from({ length: total }, (_, i) => i).filter((i) => !isVideo(i)).length;
      const deadlineMs = scaled(90_000, 600_000);
      const clip = await readFile(
        await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'person.mp4'), seconds: 1, fps: 10, width: 320 }),
      );
      const notes = Buffer.from('batting notes: front foot further forward, head still\n'.repeat(40));
      const tally = new HttpTally(server.trpcUrl);
      const tokens = await Promise.all(coaches.map((c) => server.tokenFor(c)));
      const sessions = await Promise.all(
        tokens.map(
          async (token, i) =>
            dataOf<{ sessionId: string }>(
              await tally.mutate(token, 'sessions.create', { title: `Pipeline ${i}`, playerIds: ['p1'] }),
            ).sessionId,
        ),
      );

      const started = performance.now();
      const uploads = await inParallel(
        Array.from({ length: total }, (_, i) => i),
        4,
        async (i) => {
          const body = isVideo(i) ? clip : notes;
          const owner = i % coaches.length;
          const token = tokens[owner] as string;
          const upload = dataOf<{ jobId: string; s3Key: string; presignedUrl: string | null; headers: Record<string, string> }>(
            await tally.mutate(token, 'upload.initiate', {
              sessionId: sessions[owner],
              contentType: 'video/mp4',
              sizeBytes: body.byteLength,
              sampleFps: 3,
              includeFrames: false,
            }),
          );
          if (!upload.presignedUrl) throw new Error('expected a single-PUT upload');
          const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body });
          await put.arrayBuffer();
          expect(put.status).toBe(200);
          dataOf(await tally.mutate(token, 'upload.complete', { jobId: upload.jobId }));
          return { ...upload, isVideo: isVideo(i), token };
        },
      );
      const jobIds = uploads.map((u) => u.jobId);

      const jobs = () => server.db.selectFrom('videoAnalysisJobs').selectAll().where('id', 'in', jobIds).execute();
      const finished = await waitFor(
        async () => {
          const rows = await jobs();
          return rows.every((job) => TERMINAL.has(job.status)) && rows;
        },
        { timeoutMs: deadlineMs, intervalMs: 250, what: `${total} jobs to reach a terminal state` },
      ).catch(() => jobs());
      const seconds = (performance.now() - started) / 1000;
      // A message is deleted just after its job's final write; give the workers that moment.
      const drained = await waitFor(async () => (await queueDepth(server.queueUrl)) === 0, {
        timeoutMs: 10_000,
        what: 'an empty queue',
      }).catch(() => false);
      await Promise.all(workers.map((w) => w.stop()));
      workers = [];
      const deadLettered = await server.drainQueue(server.dlqUrl);
      const leftInQueue = drained ? 0 : await queueDepth(server.queueUrl);
      const outbox = await server.db
        .selectFrom('outboxMessages')
        .select(['jobId', 'sentAt', 'attempts'])
        .where('jobId', 'in', jobIds)
        .execute();

      const metricsKey = (s3Key: string) => s3Key.replace(/original\.[a-z0-9]+$/, 'analysis/metrics.json');
      const terminal = finished.filter((job) => TERMINAL.has(job.status));
      const extraRuns = finished.reduce(
        (n, job) => n + Math.max(0, job.attempts - 1) + Math.max(0, (puts.get(metricsKey(job.s3Key)) ?? 0) - 1),
        0,
      );

      // Each job as the client sees it.
      const seen = await inParallel(uploads, 8, async (u) =>
        dataOf<{ jobId: string; status: string; errorCode: string | null; artifacts: { metricsUrl: string } | null }>(
          await tally.query(u.token, 'jobs.get', { jobId: u.jobId }),
        ),
      );

      await recordScenario({
        scenario: 'pipeline end to end',
        scale: `${total} uploads (${total - notVideos} clips, ${notVideos} not videos), 2 workers × 2 jobs at once`,
        requests: tally.requests,
        jobs: total,
        messages: outbox.filter((row) => row.sentAt).length + deadLettered.length,
        results: terminal.length,
        lost: total - terminal.length,
        duplicated: extraRuns,
        http5xx: tally.http5xx,
        notes: `${terminal.length === total ? 'all' : `${terminal.length} of ${total}`} terminal after ${seconds.toFixed(1)} s (deadline ${deadlineMs / 1000} s); 1 s 320 px clips sampled at 3 fps; DLQ ${deadLettered.length}, queue left ${leftInQueue}`,
      });

      expect(tally.describe()).toBe(`200×${tally.requests}`);
      expect(finished.filter((job) => !TERMINAL.has(job.status)).map((job) => `${job.id} ${job.status}`)).toEqual([]);
      expect(deadLettered).toHaveLength(0);
      expect(leftInQueue).toBe(0);
      expect(outbox).toHaveLength(total);
      expect(outbox.every((row) => row.sentAt !== null && row.attempts === 1)).toBe(true);

      const byId = new Map(finished.map((job) => [job.id, job]));
      const clientView = new Map(seen.map((job) => [job.jobId, job]));
      for (const upload of uploads) {
        const job = byId.get(upload.jobId);
        const view = clientView.get(upload.jobId);
        if (!job || !view) throw new Error(`job ${upload.jobId} missing`);
        const writes = puts.get(metricsKey(job.s3Key)) ?? 0;
        if (upload.isVideo) {
          expect({
            status: job.status,
            errorCode: job.errorCode,
            attempts: job.attempts,
            progressPercent: job.progressPercent,
            writes,
          }).toEqual({
            status: 'completed',
            errorCode: null,
            attempts: 1,
            progressPercent: 100,
            writes: 1,
          });
          expect(AnalysisResultSchema.parse(job.result).frameCount).toBeGreaterThan(0);
          expect(await server.storage.head(metricsKey(job.s3Key))).toBeDefined();
          expect(view).toMatchObject({ status: 'completed', artifacts: { metricsUrl: expect.any(String) } });
        } else {
          expect({ status: job.status, errorCode: job.errorCode, attempts: job.attempts, result: job.result, writes }).toEqual({
            status: 'failed',
            errorCode: 'NOT_A_VIDEO',
            attempts: 1,
            result: null,
            writes: 0,
          });
          expect(job.errorMessage).toMatch(/not a video/i);
          expect(view).toMatchObject({ status: 'failed', errorCode: 'NOT_A_VIDEO', artifacts: null });
        }
      }
    },
    scaled(180_000, 900_000),
  );
});
