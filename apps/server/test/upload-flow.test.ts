import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { errorCodeOf, type ApiClient, type RouterInputs } from '@coach/client';

import { coachA } from '../../../test/helpers/identities.ts';
import { FaultyQueue, startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

let server: TestServer;
let faulty: FaultyQueue;
let client: ApiClient;

beforeAll(async () => {
  server = await startTestServer({
    wrapQueue: (queue) => (faulty = new FaultyQueue(queue)),
  });
  client = server.clientFor(coachA);
});
afterAll(() => server?.close());
beforeEach(async () => {
  faulty.fail.send = false;
  // Every test starts from an empty queue.
  await server.drainQueue();
});

type InitiateInput = RouterInputs['upload']['initiate'];

async function initiate(bytes: Buffer, input: Partial<InitiateInput> = {}) {
  const session = await client.sessions.create.mutate({ title: 'Net session', playerIds: ['p1'] });
  const upload = await client.upload.initiate.mutate({
    sessionId: session.sessionId,
    sampleFps: 5,
    includeFrames: true,
    contentType: 'video/mp4',
    sizeBytes: bytes.length,
    ...input,
  });
  return { session, upload };
}

async function put(url: string, headers: Record<string, string>, body: Buffer) {
  const response = await fetch(url, { method: 'PUT', headers, body });
  await response.arrayBuffer();
  return response;
}

describe('upload flow over HTTP against Postgres and the S3/SQS emulator', () => {
  it('initiates, uploads to the presigned URL, completes and queues exactly one analysis message', async () => {
    const bytes = randomBytes(64 * 1024 + 7);
    const { session, upload } = await initiate(bytes);
    expect(upload).toMatchObject({
      sessionId: session.sessionId,
      status: 'awaiting_upload',
      method: 'PUT',
      s3Bucket: server.bucket,
      headers: { 'content-type': 'video/mp4' },
    });
    expect(putUrl(upload).startsWith(`${server.endpoint}/${server.bucket}/`)).toBe(true);

    const response = await put(putUrl(upload), upload.headers, bytes);
    expect(response.status).toBe(200);
    const stored = await server.storage.head(upload.s3Key);
    expect(stored).toMatchObject({ sizeBytes: bytes.length, contentType: 'video/mp4' });

    const done = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(done).toMatchObject({ jobId: upload.jobId, status: 'queued' });
    expect(done.sqsMessageId).toEqual(expect.any(String));

    const messages = await server.drainQueue();
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(message?.MessageId).toBe(done.sqsMessageId);
    expect(JSON.parse(message?.Body ?? 'null')).toEqual({
      schema_version: 1,
      job_id: upload.jobId,
      session_id: session.sessionId,
      sample_fps: 5,
      include_frames: true,
      s3_bucket: server.bucket,
      s3_key: upload.s3Key,
    });

    const job = await client.jobs.get.query({ jobId: upload.jobId });
    expect(job).toMatchObject({
      jobId: upload.jobId,
      sessionId: session.sessionId,
      status: 'queued',
      sizeBytes: bytes.length,
      declaredSizeBytes: bytes.length,
      sqsMessageId: message?.MessageId,
      errorCode: null,
    });
    expect(job.queuedAt).not.toBeNull();

    // A retried complete answers the same and sends nothing more.
    await expect(client.upload.complete.mutate({ jobId: upload.jobId })).resolves.toEqual(done);
    expect(await server.drainQueue()).toHaveLength(0);
  });

  it('refuses complete before the file is uploaded with UPLOAD_NOT_FOUND and queues nothing', async () => {
    const bytes = randomBytes(2048);
    const { upload } = await initiate(bytes);

    const error = await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_NOT_FOUND');
    expect(await server.drainQueue()).toHaveLength(0);
    await expect(client.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({
      status: 'awaiting_upload',
      sqsMessageId: null,
    });

    // The job is still usable: upload now and complete succeeds.
    expect((await put(putUrl(upload), upload.headers, bytes)).status).toBe(200);
    const done = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(done.status).toBe('queued');
    const messages = await server.drainQueue();
    expect(messages.map((m) => m.MessageId)).toEqual([done.sqsMessageId]);
  });

  it('rejects an upload stored with another Content-Type than declared', async () => {
    const bytes = randomBytes(4096);
    const { upload } = await initiate(bytes, { contentType: 'video/mp4' });
    const response = await put(putUrl(upload), { 'content-type': 'video/quicktime' }, bytes);
    expect(response.status).toBe(200);

    const error = await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_REJECTED');
    const job = await client.jobs.get.query({ jobId: upload.jobId });
    expect(job).toMatchObject({ status: 'rejected', errorCode: 'CONTENT_TYPE_MISMATCH', sqsMessageId: null });
    expect(job.errorMessage).toContain('video/quicktime');
    expect(await server.drainQueue()).toHaveLength(0);
    // The rejected object is not kept.
    expect(await server.storage.head(upload.s3Key)).toBeUndefined();
    // Asking again gives the same answer.
    expect(errorCodeOf(await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e))).toBe(
      'UPLOAD_REJECTED',
    );
  });

  it('rejects an upload whose length differs from the declared size', async () => {
    const declared = randomBytes(5000);
    const { upload } = await initiate(declared);
    const actual = randomBytes(3000);
    // The emulator checks no signatures, so it stores the shorter body; complete must catch it.
    const response = await put(putUrl(upload), upload.headers, actual);
    expect(response.status).toBe(200);

    const error = await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_REJECTED');
    await expect(client.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({
      status: 'rejected',
      errorCode: 'SIZE_MISMATCH',
      sizeBytes: 3000,
      declaredSizeBytes: 5000,
      sqsMessageId: null,
    });
    expect(await server.drainQueue()).toHaveLength(0);
  });

  it('answers 10 concurrent completes identically and sends exactly one message', async () => {
    const bytes = randomBytes(8192);
    const { upload } = await initiate(bytes);
    expect((await put(putUrl(upload), upload.headers, bytes)).status).toBe(200);

    // One client per call: each complete is its own HTTP request, not one batch.
    const results = await Promise.all(
      Array.from({ length: 10 }, () => server.clientFor(coachA).upload.complete.mutate({ jobId: upload.jobId })),
    );
    const first = results[0];
    expect(first).toMatchObject({ jobId: upload.jobId, status: 'queued', sqsMessageId: expect.any(String) });
    for (const result of results) expect(result).toEqual(first);

    const messages = await server.drainQueue();
    expect(messages).toHaveLength(1);
    expect(messages[0]?.MessageId).toBe(first?.sqsMessageId);
    const outbox = await server.db.selectFrom('outboxMessages').selectAll().where('jobId', '=', upload.jobId).execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ messageId: first?.sqsMessageId, attempts: 1 });
  });

  it('completes while SQS is down, then the relay sends the message exactly once', async () => {
    const bytes = randomBytes(10_000);
    const { session, upload } = await initiate(bytes, { sampleFps: 12, includeFrames: false });
    expect((await put(putUrl(upload), upload.headers, bytes)).status).toBe(200);

    faulty.fail.send = true;
    const attemptsBefore = faulty.sendAttempts;
    const done = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(done).toMatchObject({ jobId: upload.jobId, status: 'queued', sqsMessageId: null });
    expect(faulty.sendAttempts).toBeGreaterThan(attemptsBefore);
    await expect(client.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({
      status: 'queued',
      sqsMessageId: null,
    });
    expect(await server.drainQueue()).toHaveLength(0);

    // While SQS is still down the relay keeps the row pending.
    await new Promise((r) => setTimeout(r, 50));
    await expect(server.outbox.relayDue(10)).resolves.toEqual({ sent: 0, failed: 1 });
    expect(await server.drainQueue()).toHaveLength(0);

    faulty.fail.send = false;
    // The failed attempt pushed the row back by a short backoff; relay once it is due.
    let relayed = { sent: 0, failed: 0 };
    const deadline = Date.now() + 5_000;
    while (relayed.sent === 0 && Date.now() < deadline) {
      relayed = await server.outbox.relayDue(10);
      if (relayed.sent === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(relayed).toEqual({ sent: 1, failed: 0 });
    await expect(server.outbox.relayDue(10)).resolves.toEqual({ sent: 0, failed: 0 });

    const messages = await server.drainQueue();
    expect(messages).toHaveLength(1);
    const [message] = messages;
    expect(JSON.parse(message?.Body ?? 'null')).toEqual({
      schema_version: 1,
      job_id: upload.jobId,
      session_id: session.sessionId,
      sample_fps: 12,
      include_frames: false,
      s3_bucket: server.bucket,
      s3_key: upload.s3Key,
    });

    const again = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(again).toMatchObject({ jobId: upload.jobId, status: 'queued', sqsMessageId: message?.MessageId });
    await expect(client.jobs.get.query({ jobId: upload.jobId })).resolves.toMatchObject({
      sqsMessageId: message?.MessageId,
    });
    expect(await server.drainQueue()).toHaveLength(0);
  });
});
