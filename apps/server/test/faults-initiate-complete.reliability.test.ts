import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createAwsClients, createS3Storage, type AwsClients, type ObjectStorage } from '@coach/aws';

import {
  bodiesOf,
  callApi,
  dropConnectionOnInsert,
  inParallel,
  INTERNAL_DETAIL,
  messagesPerJob,
  type Answer,
} from '../../../test/helpers/faults.ts';
import { coachA } from '../../../test/helpers/identities.ts';
import { recordScenario, scaled } from '../../../test/helpers/reliability.ts';
import { startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';

/**
 * Faults at the storage boundary and in the database while uploads start and
 * complete, over real HTTP against the real emulator and Postgres.
 */

const MIB = 1024 * 1024;
const CONCURRENCY = scaled(8, 32);

/** What the storage wrapper does right now; each test sets what it needs and resets it. */
const faults = { signing: false, head: 'ok' as 'ok' | 'fail' | 'hang' };
const multipartUploads = { created: [] as { key: string; uploadId: string }[], aborted: new Set<string>() };

/** Accepts connections and never answers: S3 hanging. */
let blackHole: Server;
const sockets = new Set<Socket>();
let hungClients: AwsClients;
let brokenCredentials: S3Client;
let server: TestServer;
let token: string;
let sessionId: string;

beforeAll(async () => {
  blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  hungClients = createAwsClients({
    region: TEST_REGION,
    endpoint: `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // The adapter's own bounds, shortened so the scenario fits CI: each attempt gives up, then the call.
    requestTimeoutMs: 300,
    maxAttempts: 2,
  });
  // Signing and CreateMultipartUpload fail inside the SDK, as when credentials cannot be loaded.
  brokenCredentials = new S3Client({
    region: TEST_REGION,
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: () => Promise.reject(new Error('Could not load credentials from any providers')),
  });

  server = await startTestServer({
    config: { maxUploadBytes: 64 * MIB, multipartThresholdBytes: 8 * MIB, multipartPartSizeBytes: 5 * MIB },
    wrapStorage: (real) => faultyStorage(real),
  });
  token = await server.tokenFor(coachA);
  const created = await callApi(server, token, 'sessions.create', { title: 'Faults', playerIds: [] });
  if (created.kind !== 'ok') throw new Error('could not create a session');
  sessionId = (created.data as { sessionId: string }).sessionId;
}, 60_000);

afterAll(async () => {
  await server.close();
  hungClients.destroy();
  brokenCredentials.destroy();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

function faultyStorage(real: ObjectStorage): ObjectStorage {
  const broken = createS3Storage({ s3: brokenCredentials, signer: brokenCredentials, bucket: real.bucket });
  const hung = createS3Storage({ s3: hungClients.s3, signer: hungClients.s3Signer, bucket: real.bucket });
  return {
    ...real,
    presignPut: (params) => (faults.signing ? broken : real).presignPut(params),
    async createMultipartUpload(params) {
      const uploadId = await (faults.signing ? broken : real).createMultipartUpload(params);
      multipartUploads.created.push({ key: params.key, uploadId });
      return uploadId;
    },
    async abortMultipartUpload(params) {
      await real.abortMultipartUpload(params);
      multipartUploads.aborted.add(params.uploadId);
    },
    head(key) {
      if (faults.head === 'hang') return hung.head(key);
      if (faults.head === 'fail') return broken.head(key);
      return real.head(key);
    },
  };
}

const jobCount = async () =>
  Number(
    (
      await server.db
        .selectFrom('videoAnalysisJobs')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
const outboxCount = async (jobIds: string[]) =>
  jobIds.length === 0
    ? 0
    : Number(
        (
          await server.db
            .selectFrom('outboxMessages')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('jobId', 'in', jobIds)
            .executeTakeFirstOrThrow()
        ).n,
      );

/** An answer that is the documented retryable outage, and says nothing internal. */
function expectRetryable(answer: Answer) {
  expect(answer).toMatchObject({ kind: 'error', status: 503, appCode: 'SERVICE_UNAVAILABLE' });
  if (answer.kind === 'error') expect(answer.message).not.toMatch(INTERNAL_DETAIL);
}

const initiate = (sizeBytes: number) =>
  callApi(server, token, 'upload.initiate', { sessionId, sizeBytes, contentType: 'video/mp4' });

/** Uploads that have a stored object and are waiting for `complete`. */
async function uploadedJobs(count: number): Promise<string[]> {
  return inParallel(count, CONCURRENCY, async () => {
    const answer = await initiate(16);
    if (answer.kind !== 'ok') throw new Error(`initiate failed: ${JSON.stringify(answer)}`);
    const upload = answer.data as { jobId: string; presignedUrl: string; headers: Record<string, string> };
    const put = await fetch(upload.presignedUrl, { method: 'PUT', headers: upload.headers, body: new Uint8Array(16).fill(7) });
    expect(put.status).toBe(200);
    return upload.jobId;
  });
}

/** A multipart upload id the emulator still knows accepts a part; an aborted one does not. */
async function multipartUploadIsOpen(key: string, uploadId: string): Promise<boolean> {
  try {
    await server.aws.s3.send(
      new UploadPartCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: new Uint8Array(8) }),
    );
    return true;
  } catch {
    return false;
  }
}

describe('faults while an upload starts', () => {
  it('signing failing: every initiate answers SERVICE_UNAVAILABLE and leaves no job; the next ones succeed', async () => {
    const count = scaled(20, 200);
    const before = await jobCount();
    faults.signing = true;
    let answers: Answer[];
    try {
      // Half single PUTs (presign), half multipart (CreateMultipartUpload).
      answers = await inParallel(count, CONCURRENCY, (i) => initiate(i % 2 === 0 ? 16 : 12 * MIB));
    } finally {
      faults.signing = false;
    }
    for (const answer of answers) expectRetryable(answer);
    expect(await jobCount()).toBe(before);

    const after = await inParallel(count, CONCURRENCY, (i) => initiate(i % 2 === 0 ? 16 : 12 * MIB));
    expect(after.filter((a) => a.kind === 'ok')).toHaveLength(count);
    expect(await jobCount()).toBe(before + count);

    await recordScenario({
      scenario: 'initiate: signing fails',
      scale: `${count} initiates (half multipart) × ${CONCURRENCY} concurrent, then ${count} after recovery`,
      requests: 2 * count,
      jobs: count,
      messages: 0,
      results: 0,
      lost: 0,
      duplicated: 0,
      http5xx: answers.filter((a) => a.kind === 'error' && a.status >= 500).length,
      // Deliberate outage: its answers are the documented retryable 503.
      expected5xx: true,
      notes: 'every failed initiate: 503 SERVICE_UNAVAILABLE, no job row',
    });
  });

  it('the database dropping the connection at the job insert: SERVICE_UNAVAILABLE, no job, multipart uploads aborted', async () => {
    const count = scaled(12, 120);
    const before = await jobCount();
    const createdBefore = multipartUploads.created.length;
    const removeFault = await dropConnectionOnInsert(server.db, 'video_analysis_jobs');
    let answers: Answer[];
    try {
      answers = await inParallel(count, CONCURRENCY, (i) => initiate(i % 2 === 0 ? 16 : 12 * MIB));
    } finally {
      await removeFault();
    }
    for (const answer of answers) expectRetryable(answer);
    expect(await jobCount()).toBe(before);

    // Every multipart upload a refused initiate started was aborted in storage, not left to the lifecycle rule.
    const started = multipartUploads.created.slice(createdBefore);
    expect(started).toHaveLength(count / 2);
    for (const upload of started) {
      expect(multipartUploads.aborted.has(upload.uploadId)).toBe(true);
      expect(await multipartUploadIsOpen(upload.key, upload.uploadId)).toBe(false);
    }

    // The pool replaced the dropped connections: the same calls now succeed.
    const after = await inParallel(count, CONCURRENCY, (i) => initiate(i % 2 === 0 ? 16 : 12 * MIB));
    expect(after.filter((a) => a.kind === 'ok')).toHaveLength(count);
    expect(await jobCount()).toBe(before + count);
    // The probe above can tell: a live multipart upload does accept a part.
    const live = multipartUploads.created.at(-1);
    expect(live && !multipartUploads.aborted.has(live.uploadId)).toBe(true);
    if (live) expect(await multipartUploadIsOpen(live.key, live.uploadId)).toBe(true);

    await recordScenario({
      scenario: 'initiate: database connection dropped at insert',
      scale: `${count} initiates (half multipart) × ${CONCURRENCY} concurrent, then ${count} after recovery`,
      requests: 2 * count,
      jobs: count,
      messages: 0,
      results: 0,
      lost: 0,
      duplicated: 0,
      http5xx: answers.filter((a) => a.kind === 'error' && a.status >= 500).length,
      // Deliberate outage: its answers are the documented retryable 503.
      expected5xx: true,
      notes: `every failed initiate: 503 SERVICE_UNAVAILABLE, no job row; ${started.length} multipart uploads aborted`,
    });
  });
});

/** The jobs' rows but for the deadline (and `updatedAt`, which moves with it). */
async function rowsButDeadline(jobIds: string[]) {
  const rows = await server.db.selectFrom('videoAnalysisJobs').selectAll().where('id', 'in', jobIds).orderBy('id').execute();
  return rows.map(({ uploadExpiresAt: _deadline, updatedAt: _updated, ...rest }) => rest);
}

describe('faults while an upload completes', () => {
  it('the database dropping the connection inside the queuing transaction: SERVICE_UNAVAILABLE, nothing committed; a retry queues exactly once', async () => {
    const count = scaled(12, 120);
    const jobIds = await uploadedJobs(count);
    // The job moves to queued, then the outbox insert in the same transaction loses the connection.
    const removeFault = await dropConnectionOnInsert(server.db, 'outbox_messages');
    let failed: Answer[];
    try {
      failed = await inParallel(count, CONCURRENCY, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
    } finally {
      await removeFault();
    }
    for (const answer of failed) expectRetryable(answer);
    const rows = await server.db
      .selectFrom('videoAnalysisJobs')
      .select(['status', 'queuedAt'])
      .where('id', 'in', jobIds)
      .execute();
    expect(rows.every((r) => r.status === 'awaiting_upload' && r.queuedAt === null)).toBe(true);
    expect(await outboxCount(jobIds)).toBe(0);
    expect(await server.drainQueue()).toHaveLength(0);

    const retried = await inParallel(count, CONCURRENCY, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
    expect(retried.every((a) => a.kind === 'ok' && (a.data as { status: string }).status === 'queued')).toBe(true);
    const perJob = messagesPerJob(bodiesOf(await server.drainQueue()));
    expect([...perJob.keys()].sort()).toEqual([...jobIds].sort());
    expect([...perJob.values()].every((n) => n === 1)).toBe(true);

    await recordScenario({
      scenario: 'complete: database connection dropped mid-transaction',
      scale: `${count} completes × ${CONCURRENCY} concurrent, the outbox insert losing its connection; then ${count} retries`,
      requests: 3 * count,
      jobs: count,
      messages: [...perJob.values()].reduce((a, b) => a + b, 0),
      results: 0,
      lost: jobIds.filter((id) => !perJob.has(id)).length,
      duplicated: [...perJob.values()].filter((n) => n > 1).length,
      http5xx: failed.filter((a) => a.kind === 'error' && a.status >= 500).length,
      // Deliberate outage: its answers are the documented retryable 503.
      expected5xx: true,
      notes: 'during the fault: 503 SERVICE_UNAVAILABLE; neither the transition nor the outbox row committed; no message',
    });
  });

  for (const mode of ['fail', 'hang'] as const) {
    it(`HEAD ${mode === 'fail' ? 'failing' : 'hanging past the adapter timeout'}: SERVICE_UNAVAILABLE, job unchanged, nothing queued; a retry queues exactly once`, async () => {
      const count = scaled(12, 120);
      const jobIds = await uploadedJobs(count);
      const rowsBefore = await rowsButDeadline(jobIds);

      faults.head = mode;
      let failed: Answer[];
      try {
        failed = await inParallel(count, CONCURRENCY, (i) => callApi(server, token, 'upload.complete', { jobId: jobIds[i] }));
      } finally {
        faults.head = 'ok';
      }
      for (const answer of failed) expectRetryable(answer);
      // A complete attempt is progress: it pushed each deadline, and changed nothing else.
      const rowsAfter = await rowsButDeadline(jobIds);
      expect(rowsAfter).toEqual(rowsBefore);
      expect(rowsAfter.every((r) => r.status === 'awaiting_upload')).toBe(true);
      expect(await outboxCount(jobIds)).toBe(0);
      expect(await server.drainQueue()).toHaveLength(0);

      // The client retries: twice per job, racing, as an impatient phone would.
      const retried = await inParallel(2 * count, CONCURRENCY, (i) =>
        callApi(server, token, 'upload.complete', { jobId: jobIds[i % count] }),
      );
      expect(retried.every((a) => a.kind === 'ok' && (a.data as { status: string }).status === 'queued')).toBe(true);
      expect(await outboxCount(jobIds)).toBe(count);
      const perJob = messagesPerJob(bodiesOf(await server.drainQueue()));
      expect([...perJob.keys()].sort()).toEqual([...jobIds].sort());
      expect([...perJob.values()].every((n) => n === 1)).toBe(true);

      await recordScenario({
        scenario: mode === 'fail' ? 'complete: HEAD fails' : 'complete: HEAD hangs',
        scale: `${count} completes × ${CONCURRENCY} concurrent during the fault, then ${2 * count} racing retries`,
        requests: 4 * count,
        jobs: count,
        messages: [...perJob.values()].reduce((a, b) => a + b, 0),
        results: 0,
        lost: jobIds.filter((id) => !perJob.has(id)).length,
        duplicated: [...perJob.values()].filter((n) => n > 1).length,
        http5xx: failed.filter((a) => a.kind === 'error' && a.status >= 500).length,
        // Deliberate outage: its answers are the documented retryable 503.
        expected5xx: true,
        notes:
          mode === 'fail'
            ? 'during the fault: 503 SERVICE_UNAVAILABLE, rows unchanged, no outbox row, no message'
            : 'HEAD bounded by the adapter timeout (300 ms × 2 attempts here); 503 SERVICE_UNAVAILABLE, rows unchanged, no message',
      });
    });
  }
});
