import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '@coach/api';
import { createSqsQueue } from '@coach/aws';
import { errorCodeOf, type RouterOutputs } from '@coach/client';
import { DEFAULT_WORKER_CONFIG, startWorker, type Worker } from '@coach/worker';

import { sampleResult } from '../../../test/helpers/analysis-result.ts';
import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

type JobState = RouterOutputs['jobs']['list']['items'][number];
interface Received {
  events: { id: string; data: JobState }[];
  error?: unknown;
  completed: boolean;
  stop(): void;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

async function queuedJob() {
  const client = server.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Watch', playerIds: [] });
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 8 });
  await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(8) });
  await client.upload.complete.mutate({ jobId: upload.jobId });
  return upload.jobId;
}

function watch(identity = coachA, input: { jobId: string; lastEventId?: string }): Received {
  const received: Received = { events: [], completed: false, stop: () => {} };
  const subscription = server.clientFor(identity).jobs.watch.subscribe(input, {
    onData: (event) => received.events.push(event),
    onError: (error) => (received.error = error),
    onComplete: () => (received.completed = true),
  });
  received.stop = () => subscription.unsubscribe();
  return received;
}

describe('jobs.watch', () => {
  it('streams queued → processing with rising progress → completed over SSE, then ends', async () => {
    const jobId = await queuedJob();
    const stream = watch(coachA, { jobId });
    await waitFor(() => stream.events.length > 0, { what: 'the first event' });
    expect(stream.events[0]?.data.status).toBe('queued');

    let worker: Worker | undefined;
    try {
      worker = startWorker(
        {
          db: server.db,
          storage: server.storage,
          queue: server.queue,
          deadLetterQueue: createSqsQueue({ sqs: server.sqs, queueUrl: server.dlqUrl }),
          logger: silentLogger,
          analyzer: async ({ reportProgress }) => {
            for (let done = 1; done <= 4; done++) {
              await new Promise((resolve) => setTimeout(resolve, 80));
              await reportProgress(done, 4);
            }
            return sampleResult({ frameCount: 4 });
          },
        },
        { ...DEFAULT_WORKER_CONFIG, waitTimeSeconds: 1, shutdownBudgetMs: 500 },
      );
      await waitFor(() => stream.completed, { what: 'the stream to end', timeoutMs: 15_000 });
    } finally {
      await worker?.stop();
    }

    const states = stream.events.map((e) => e.data);
    expect(states.at(-1)).toMatchObject({ status: 'completed', progressPercent: 100 });
    expect(states.some((s) => s.status === 'processing' && s.progressPercent > 0)).toBe(true);
    const percents = states.map((s) => s.progressPercent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(stream.events.map((e) => e.id)).size).toBe(stream.events.length);
    expect(stream.error).toBeUndefined();
  });

  it('hears changes made over another database connection, and resumes after a reconnect without repeats', async () => {
    const jobId = await queuedJob();
    const first = watch(coachA, { jobId });
    await waitFor(() => first.events.length > 0, { what: 'the first event' });
    const seen = first.events[0];
    first.stop();

    // Another process (here: another connection) moves the job on.
    const other = new pg.Client({ connectionString: server.dbUrl });
    await other.connect();
    try {
      const resumed = watch(coachA, { jobId, lastEventId: seen?.id });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(resumed.events).toHaveLength(0); // nothing new since the last event it saw
      await other.query(
        `update video_analysis_jobs set status = 'processing', progress_percent = 40, lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 minute' where id = $1`,
        [jobId],
      );
      await waitFor(() => resumed.events.length > 0, { what: 'the change to arrive' });
      expect(resumed.events[0]?.data).toMatchObject({ status: 'processing', progressPercent: 40 });
      resumed.stop();
    } finally {
      await other.end();
    }
  });

  it("refuses another owner's job exactly like a missing one", async () => {
    const jobId = await queuedJob();
    const stream = watch(coachB, { jobId });
    await waitFor(() => stream.error, { what: 'an error' });
    expect(errorCodeOf(stream.error)).toBe('JOB_NOT_FOUND');
    expect(stream.events).toHaveLength(0);
  });
});
