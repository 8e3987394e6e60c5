import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createSqsQueue } from '@coach/aws';
import { findJob } from '@coach/db';
import { observeBacklog, silentLogger } from '@coach/jobs';
import { videoFromImage } from '@coach/media/testing';
import { InMemorySpanExporter, startTelemetry, type Telemetry } from '@coach/telemetry';
import { startAnalysisWorker, toWorkerSettings, WorkerSettingsSchema } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { FaultyQueue, startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { workerProcessEnv } from './helpers/worker-env.ts';

// The API side runs in this process, exporting through the same telemetry the server's main installs;
// the worker runs as its own process with its own METRICS_PORT (metrics) or in this process (traces).
let telemetry: Telemetry;
const spans = new InMemorySpanExporter();
let server: TestServer;
let dir: string;
let video: Buffer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  telemetry = await startTelemetry({ metrics: { host: '127.0.0.1', port: 0 }, spanExporter: spans });
  dir = await mkdtemp(path.join(os.tmpdir(), 'worker-signals-'));
  const file = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(dir, 'clip.mp4'), seconds: 2, fps: 10 });
  video = await readFile(file);
  server = await startTestServer({ config: { maxUploadBytes: 50 * 1024 * 1024 } });
}, 120_000);
async function stopChildren() {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }),
  );
}
afterEach(stopChildren);
afterAll(async () => {
  await server.close();
  await telemetry.shutdown();
  await rm(dir, { recursive: true, force: true });
});

/** The production worker as its own process with a metrics endpoint; resolves with that endpoint's URL. */
async function spawnWorkerWithMetrics(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...workerProcessEnv(server),
      WORKER_WAIT_TIME_SECONDS: '1',
      POSE_THREADS: '1',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout ?? process.stdin })) {
    const url = (JSON.parse(line) as { metricsUrl?: string }).metricsUrl;
    if (url) return url;
  }
  throw new Error('the worker exited before its metrics endpoint was ready');
}

async function uploadAndComplete(on: TestServer = server): Promise<string> {
  const client = on.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Signals', playerIds: [] });
  const started = await client.upload.initiate.mutate({ sessionId, sizeBytes: video.byteLength, sampleFps: 5 });
  await fetch(putUrl(started), { method: 'PUT', headers: started.headers, body: video });
  await client.upload.complete.mutate({ jobId: started.jobId });
  return started.jobId;
}

const completed = (jobId: string) =>
  waitFor(
    async () => {
      const job = await findJob(server.db, { jobId });
      return job?.status === 'completed' ? job : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 100, what: 'the job to complete' },
  );

/** A scrape's samples as `name{labels}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

describe('metrics', () => {
  it("an upload moves the API's and the worker's counters, each scraped over HTTP from its own metrics port", async () => {
    const backlog = observeBacklog({ db: server.db, logger: silentLogger });
    try {
      const workerMetrics = await spawnWorkerWithMetrics();
      const apiMetrics = telemetry.metricsUrl ?? '';
      const jobId = await uploadAndComplete();
      await completed(jobId);

      const api = await scrape(apiMetrics);
      expect(api.get('coachplus_uploads_initiated_total{mode="single"}')).toBe(1);
      expect(api.get('coachplus_uploads_completed_total{mode="single"}')).toBe(1);
      expect(api.get('coachplus_rpc_duration_seconds_count{procedure="upload.complete",outcome="ok"}')).toBe(1);
      expect(api.get('coachplus_outbox_backlog')).toBe(0);
      expect(api.get('coachplus_outbox_oldest_unsent_age_seconds')).toBe(0);
      expect(api.get('coachplus_jobs_open{status="processing"}')).toBe(0);

      // The worker records once the job's row is written: poll the scrape, not a sleep.
      const worker = await waitFor(
        async () => {
          const samples = await scrape(workerMetrics);
          return samples.get('coachplus_jobs_finished_total{status="completed"}') === 1 ? samples : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 100, what: "the worker's completed counter" },
      );
      expect(worker.get('coachplus_analysis_phase_duration_seconds_count{phase="total"}')).toBe(1);
      expect(worker.get('coachplus_analysis_phase_duration_seconds_count{phase="download"}')).toBe(1);
      expect(worker.get('coachplus_pose_frame_duration_ms_count')).toBe(1);
      expect(worker.get('coachplus_queue_receive_lag_seconds_count{queue="analysis"}')).toBe(1);
      // Labels are names and codes only: no job, session or user id appears in either scrape.
      for (const samples of [api, worker]) expect([...samples.keys()].join('\n')).not.toContain(jobId);
    } finally {
      backlog.stop();
      // Stopped, not killed: a killed worker's last long poll could take the next test's message with it.
      await stopChildren();
    }
  }, 180_000);
});

describe('traces', () => {
  it("one trace spans the API's request and the worker's processing of the job, over the real queue", async () => {
    const settings = toWorkerSettings(WorkerSettingsSchema.parse({ POSE_THREADS: '1' }));
    settings.worker.waitTimeSeconds = 1;
    const worker = await startAnalysisWorker(
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
      spans.reset();
      const jobId = await uploadAndComplete();
      await completed(jobId);
      const processing = await waitFor(
        () =>
          Promise.resolve(
            spans
              .getFinishedSpans()
              .find((s) => s.name === 'process analysis message' && s.attributes['coachplus.job_id'] === jobId),
          ),
        { timeoutMs: 10_000, intervalMs: 50, what: "the worker's span" },
      );
      const finished = spans.getFinishedSpans();
      const named = (name: string) => finished.find((s) => s.name === name);
      const request = named('rpc upload.complete');
      expect(request).toBeDefined();
      expect(processing.spanContext().traceId).toBe(request?.spanContext().traceId);
      // request → S3 HEAD and the Postgres transaction → outbox send (SQS) → the worker's
      // processing → its phases (the S3 download among them), parent to child.
      const parentOf = (name: string) => named(name)?.parentSpanContext?.spanId;
      expect(parentOf('s3 head upload')).toBe(request?.spanContext().spanId);
      expect(parentOf('postgres queue job')).toBe(request?.spanContext().spanId);
      expect(parentOf('outbox send')).toBe(named('postgres queue job')?.spanContext().spanId);
      expect(processing.parentSpanContext?.spanId).toBe(named('outbox send')?.spanContext().spanId);
      expect(parentOf('analysis download')).toBe(processing.spanContext().spanId);
      expect(parentOf('analysis metrics store')).toBe(processing.spanContext().spanId);
      expect(processing.events.map((e) => e.name)).toContain('job completed');
    } finally {
      await worker.stop();
    }
  }, 180_000);

  it("a message the outbox relay sends after the request has ended still carries the request's trace", async () => {
    let faulty: FaultyQueue | undefined;
    const down = await startTestServer({ wrapQueue: (queue) => (faulty = new FaultyQueue(queue)) });
    try {
      if (!faulty) throw new Error('queue not wrapped');
      faulty.fail.send = true;
      spans.reset();
      await uploadAndComplete(down);
      const request = spans.getFinishedSpans().find((s) => s.name === 'rpc upload.complete');
      expect(request).toBeDefined();

      // Sent later, from no request at all: only the row's stored traceparent links it back.
      faulty.fail.send = false;
      await waitFor(async () => ((await down.outbox.relayDue(10)).sent === 1 ? true : undefined), {
        what: 'the relay to send the message',
      });
      const [message] = await down.queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });
      expect(message?.traceparent?.split('-')[1]).toBe(request?.spanContext().traceId);
      if (message) await down.queue.delete(message.receiptHandle);
    } finally {
      await down.close();
    }
  }, 60_000);
});
