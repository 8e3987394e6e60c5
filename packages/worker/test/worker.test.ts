import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';

import { createSqsQueue } from '@coach/aws';
import { findJob, sql, type Database, type Kysely, type KyselyPlugin } from '@coach/db';
import { buildAnalysisJobMessage, claimJob, silentLogger, type AnalysisResult } from '@coach/jobs';
import {
  DEFAULT_WORKER_CONFIG,
  PermanentAnalysisError,
  startWorker,
  type VideoAnalyzer,
  type Worker,
  type WorkerConfig,
} from '@coach/worker';

import { sampleResult } from '../../../test/helpers/analysis-result.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

const fast: WorkerConfig = {
  ...DEFAULT_WORKER_CONFIG,
  leaseSeconds: 2,
  visibilityTimeoutSeconds: 2,
  waitTimeSeconds: 1,
  backoffBaseSeconds: 0,
  backoffMaxSeconds: 0,
  shutdownBudgetMs: 300,
  sweepIntervalMs: 60_000,
};

let server: TestServer | undefined;
let worker: Worker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await server?.close();
  server = undefined;
});

/** Real API flow up to a queued job: session, initiate, a real PUT, complete. */
async function queuedJob(s: TestServer) {
  const client = s.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Nets', playerIds: [] });
  const body = new Uint8Array(1024).fill(1);
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: body.byteLength });
  const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body });
  expect(put.status).toBe(200);
  await client.upload.complete.mutate({ jobId: upload.jobId });
  return upload.jobId;
}

function runWorker(s: TestServer, analyzer: VideoAnalyzer, config: Partial<WorkerConfig> = {}, db: Kysely<Database> = s.db) {
  worker = startWorker(
    {
      db,
      storage: s.storage,
      queue: s.queue,
      deadLetterQueue: createSqsQueue({ sqs: s.sqs, queueUrl: s.dlqUrl }),
      analyzer,
      logger: process.env.DEBUG_WORKER
        ? {
            info: (o: object, m?: string) => console.log('INFO', m, JSON.stringify(o)),
            warn: (o: object, m?: string) => console.log('WARN', m, JSON.stringify(o)),
            error: (o: object, m?: string) => console.log('ERR', m, JSON.stringify(o)),
          }
        : silentLogger,
    },
    { ...fast, ...config },
  );
  return worker;
}

const jobIn = (s: TestServer, jobId: string, ...statuses: string[]) =>
  waitFor(
    async () => {
      const job = await findJob(s.db, { jobId });
      return job && statuses.includes(job.status) ? job : undefined;
    },
    { what: `job ${jobId} in ${statuses.join('/')}` },
  );

/** Messages in the queue, visible or in flight. */
async function queueDepth(s: TestServer | undefined): Promise<number> {
  if (!s) throw new Error('no server');
  const { Attributes } = await s.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: s.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** An analyzer that counts calls and resolves with a marker result. */
function countingAnalyzer(behaviour: (call: number, signal: AbortSignal) => Promise<AnalysisResult>) {
  const calls: string[] = [];
  const analyzer: VideoAnalyzer = async ({ job, signal, reportProgress }) => {
    calls.push(job.id);
    await reportProgress(1, 2);
    return behaviour(calls.length, signal);
  };
  return { analyzer, calls };
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });

describe('worker', () => {
  it('takes a queued job to completed once, records the result and deletes the message', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    const { analyzer, calls } = countingAnalyzer(async () => sampleResult({ frameCount: 3 }));
    runWorker(server, analyzer);
    const job = await jobIn(server, jobId, 'completed');
    expect(job).toMatchObject({ progressPercent: 100, attempts: 1, leaseToken: null, result: { frameCount: 3 } });
    expect(calls).toEqual([jobId]);
    await worker?.stop();
    worker = undefined;
    expect(await server.drainQueue()).toHaveLength(0);
    expect(await server.drainQueue(server.dlqUrl)).toHaveLength(0);
  });

  it('processes a duplicated message only once', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    const job = await findJob(server.db, { jobId });
    if (!job) throw new Error('job missing');
    await server.queue.send(JSON.stringify(buildAnalysisJobMessage(job)));
    const { analyzer, calls } = countingAnalyzer(async () => sampleResult());
    runWorker(server, analyzer);
    await jobIn(server, jobId, 'completed');
    await waitFor(async () => (await queueDepth(server)) === 0, { what: 'both copies to be consumed' });
    await worker?.stop();
    worker = undefined;
    expect(calls).toEqual([jobId]);
    expect(await server.drainQueue()).toHaveLength(0);
  });

  it('fails a job at once on a permanent error, with its code and reason', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    const { analyzer, calls } = countingAnalyzer(async () => {
      throw new PermanentAnalysisError('NOT_A_VIDEO', 'This file is not a video we can read.');
    });
    runWorker(server, analyzer);
    const job = await jobIn(server, jobId, 'failed');
    expect(job).toMatchObject({ errorCode: 'NOT_A_VIDEO', errorMessage: 'This file is not a video we can read.' });
    await worker?.stop();
    worker = undefined;
    expect(calls).toHaveLength(1);
    expect(await server.drainQueue()).toHaveLength(0);
    expect(await server.drainQueue(server.dlqUrl)).toHaveLength(0);
  });

  it('retries transient failures, then fails the job and dead-letters the message', async () => {
    server = await startTestServer({ maxReceiveCount: 3, visibilityTimeoutSeconds: 2 });
    const jobId = await queuedJob(server);
    const { analyzer, calls } = countingAnalyzer(async () => {
      throw new Error('storage hiccup');
    });
    runWorker(server, analyzer, { maxReceives: 3 });
    const job = await jobIn(server, jobId, 'failed');
    expect(job).toMatchObject({ errorCode: 'ANALYSIS_RETRIES_EXHAUSTED', attempts: 3 });
    expect(job.errorMessage).toMatch(/could not analyse this video after 3 attempts/);
    const dead = await waitFor(
      async () => {
        const messages = await server?.drainQueue(server.dlqUrl);
        return messages && messages.length > 0 ? messages : undefined;
      },
      { what: 'the message in the dead-letter queue' },
    );
    expect(JSON.parse(dead[0]?.Body ?? '{}')).toMatchObject({ job_id: jobId });
    expect(calls).toHaveLength(3);
  });

  it('dead-letters a poison message and fails the job it names', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    expect(await server.drainQueue()).toHaveLength(1); // take the real message away
    await server.queue.send('this is not json');
    await server.queue.send(JSON.stringify({ job_id: jobId, sample_fps: 'many' }));
    const { analyzer, calls } = countingAnalyzer(async () => sampleResult());
    runWorker(server, analyzer);
    const job = await jobIn(server, jobId, 'failed');
    expect(job.errorCode).toBe('INVALID_MESSAGE');
    const dead: string[] = [];
    await waitFor(
      async () => {
        for (const m of (await server?.drainQueue(server.dlqUrl)) ?? []) dead.push(m.Body ?? '');
        return dead.length >= 2;
      },
      { what: 'both poison messages in the dead-letter queue' },
    );
    expect(dead.sort()).toEqual([JSON.stringify({ job_id: jobId, sample_fps: 'many' }), 'this is not json'].sort());
    expect(calls).toHaveLength(0);
  });

  it('stops without writing when its lease is taken over, leaving one result', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    let sawAbort = false;
    const { analyzer } = countingAnalyzer(async (_call, signal) => {
      await untilAborted(signal).catch((error: unknown) => {
        sawAbort = true;
        throw error;
      });
      return sampleResult({ model: { name: 'stale', version: '1' } });
    });
    runWorker(server, analyzer, { leaseSeconds: 1 });
    await jobIn(server, jobId, 'processing');
    // Another worker takes the job over (as after a lease lapse).
    await sql`update video_analysis_jobs set lease_token = gen_random_uuid(), lease_expires_at = now() + interval '1 hour' where id = ${jobId}`.execute(
      server.db,
    );
    await waitFor(() => sawAbort, { what: 'the analyzer to be aborted' });
    await worker?.stop();
    worker = undefined;
    const job = await findJob(server.db, { jobId });
    expect(job).toMatchObject({ status: 'processing', result: null });
  });

  it('stops without writing when it cannot renew its lease before the lease runs out (the database unreachable)', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    let renewalsFail = false;
    // Lease renewals (an update of lease_expires_at alone) fail as a dropped connection would; every other query works.
    const failRenewals: KyselyPlugin = {
      transformQuery({ node }) {
        const isRenewal = node.kind === 'UpdateQueryNode' && node.updates?.length === 1 && JSON.stringify(node).includes('lease');
        if (renewalsFail && isRenewal) throw new Error('injected: connection lost');
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
    let sawAbort = false;
    const { analyzer } = countingAnalyzer(async (_call, signal) => {
      renewalsFail = true;
      await untilAborted(signal).catch((error: unknown) => {
        sawAbort = true;
        throw error;
      });
      return sampleResult({ model: { name: 'unleased', version: '1' } });
    });
    runWorker(server, analyzer, { leaseSeconds: 1 }, server.db.withPlugin(failRenewals));
    await waitFor(() => sawAbort, { what: 'the analyzer to be stopped once its lease ran out' });
    renewalsFail = false;
    await worker?.stop();
    worker = undefined;
    expect(await findJob(server.db, { jobId })).toMatchObject({ status: 'processing', result: null });
  });

  it('finishes a job whose previous worker died mid-job, once its lease lapsed', async () => {
    server = await startTestServer({ visibilityTimeoutSeconds: 1 });
    const jobId = await queuedJob(server);
    // The dead worker: received the message and claimed the job, then vanished.
    const [received] = await server.queue.receive({ maxMessages: 1, waitTimeSeconds: 1, visibilityTimeoutSeconds: 1 });
    expect(received).toBeDefined();
    const dead = await claimJob(server.db, { jobId, leaseToken: crypto.randomUUID(), leaseOwner: 'dead', leaseSeconds: 1 });
    expect(dead?.status).toBe('processing');
    const { analyzer, calls } = countingAnalyzer(async () => sampleResult({ model: { name: 'recovered', version: '1' } }));
    runWorker(server, analyzer);
    const job = await jobIn(server, jobId, 'completed');
    expect(job).toMatchObject({ attempts: 2, result: { model: { name: 'recovered' } } });
    expect(calls).toEqual([jobId]);
  });

  it('releases an in-flight job at shutdown so another worker can take it at once', async () => {
    server = await startTestServer({ visibilityTimeoutSeconds: 30 });
    const jobId = await queuedJob(server);
    const { analyzer } = countingAnalyzer(async (_call, signal) => untilAborted(signal));
    const w = runWorker(server, analyzer, { shutdownBudgetMs: 200, visibilityTimeoutSeconds: 30 });
    await jobIn(server, jobId, 'processing');
    await w.stop();
    worker = undefined;
    const job = await findJob(server.db, { jobId });
    expect(job).toMatchObject({ status: 'queued', leaseToken: null });
    // Visible again immediately, not after the 30 s visibility timeout.
    const again = await server.queue.receive({ maxMessages: 1, waitTimeSeconds: 1 });
    expect(again.map((m) => JSON.parse(m.body) as { job_id: string }).map((m) => m.job_id)).toEqual([jobId]);
  });
});

describe('worker, defensive paths', () => {
  it('drops a duplicate copy of a message while another worker holds the job, instead of cycling it to the dead-letter queue', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    // Another worker took the job for its own message.
    await claimJob(server.db, {
      jobId,
      leaseToken: crypto.randomUUID(),
      leaseOwner: 'other',
      leaseSeconds: 300,
      messageId: 'the-original',
    });
    const { analyzer, calls } = countingAnalyzer(async () => sampleResult());
    runWorker(server, analyzer);
    await waitFor(async () => (await queueDepth(server)) === 0, { what: 'the duplicate to be dropped' });
    expect(calls).toHaveLength(0);
    expect(await findJob(server.db, { jobId })).toMatchObject({ status: 'processing', leaseOwner: 'other' });
  });

  it('leaves a message of a newer schema version for a newer worker instead of failing its job', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    await server.drainQueue();
    await server.queue.send(JSON.stringify({ schema_version: 2, job_id: jobId, something_new: true }));
    const { analyzer, calls } = countingAnalyzer(async () => sampleResult());
    runWorker(server, analyzer);
    await waitFor(async () => (await queueDepth(server)) === 1 && (await visibleCount(server)) === 0, {
      what: 'the message to be put back for later',
    });
    expect(calls).toHaveLength(0);
    expect((await findJob(server.db, { jobId }))?.status).toBe('queued');
  });

  it('keeps analysing when a progress write fails', async () => {
    server = await startTestServer();
    const jobId = await queuedJob(server);
    let failProgress = true;
    const analyzer: VideoAnalyzer = async ({ reportProgress }) => {
      // Break the next progress write the way a dropped connection would (the column check rejects it).
      if (failProgress) {
        failProgress = false;
        await reportProgress(-5, 1).catch(() => {});
      }
      await reportProgress(1, 2);
      return sampleResult({ model: { name: 'survived', version: '1' } });
    };
    runWorker(server, analyzer);
    const job = await jobIn(server, jobId, 'completed', 'failed');
    expect(job).toMatchObject({ status: 'completed', result: { model: { name: 'survived' } }, attempts: 1 });
  });

  it('stops an analysis that outlives its time limit and fails it for good: the deadline covers the largest job the caps allow', async () => {
    server = await startTestServer({ maxReceiveCount: 2, visibilityTimeoutSeconds: 2 });
    const jobId = await queuedJob(server);
    const { analyzer, calls } = countingAnalyzer(async (_call, signal) => untilAborted(signal));
    runWorker(server, analyzer, { maxJobSeconds: 0.3 as number, maxReceives: 2 });
    const job = await jobIn(server, jobId, 'failed');
    expect(job).toMatchObject({ errorCode: 'ANALYSIS_TIME_LIMIT', attempts: 1 });
    expect(job.errorMessage).toMatch(/took longer than/);
    expect(calls).toHaveLength(1);
    await expect.poll(() => visibleCount(server)).toBe(0);
  });
});

async function visibleCount(s: TestServer | undefined): Promise<number> {
  if (!s) throw new Error('no server');
  const { Attributes } = await s.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: s.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
}
