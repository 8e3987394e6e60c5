import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UploadError, uploadVideo, type ApiClient, type UploadProgressEvent } from '@coach/client';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { chunkBuffersAllocated } from '../src/upload/node-file.ts';
import {
  ApiSpy,
  expectProgressContract,
  MIB,
  newSession,
  peakArrayBuffersDuring,
  StorageFetch,
  storedSha256,
  uploadTestConfig,
  writeRandomFile,
} from './support.ts';

let server: TestServer;
let client: ApiClient;
let dir: string;
let clip: Awaited<ReturnType<typeof writeRandomFile>>;

beforeAll(async () => {
  server = await startTestServer({ config: uploadTestConfig });
  client = server.clientFor(coachA);
  dir = await mkdtemp(path.join(tmpdir(), 'coach-client-upload-'));
  // 23 MiB: four 5 MiB parts and a 3 MiB last part.
  clip = await writeRandomFile(dir, 'match.mp4', 23 * MIB + 12_345);
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('uploadVideo against the real emulator', () => {
  it('uploads a file path as parallel parts, completes, stores the exact bytes and queues one message', async () => {
    await server.drainQueue();
    const sessionId = await newSession(client);
    const storage = new StorageFetch();
    const spy = new ApiSpy(server, coachA);
    const events: UploadProgressEvent[] = [];
    const created: { jobId: string; uploadMode: string; putsSoFar: number }[] = [];

    const done = await uploadVideo({
      client: spy.client,
      sessionId,
      file: clip.path,
      sampleFps: 5,
      fetch: storage.fetch,
      onProgress: (event) => events.push(event),
      onJobCreated: (job) => created.push({ ...job, putsSoFar: storage.puts.length }),
    });

    expect(done).toMatchObject({ status: 'queued', sqsMessageId: expect.any(String) });
    // The job id is handed out once, before any byte is sent, so it can be kept for a resume.
    expect(created).toEqual([
      {
        jobId: done.jobId,
        uploadMode: 'multipart',
        clientRequestId: expect.stringMatching(/^[0-9a-f]{32}$/),
        expiresAt: expect.any(String),
        putsSoFar: 0,
      },
    ]);
    // Five parts, each sent once, several at a time.
    expect(storage.attemptsByPart()).toEqual({ 1: 1, 2: 1, 3: 1, 4: 1, 5: 1 });
    expect(storage.maxInFlight).toBeGreaterThan(1);
    expect(storage.maxInFlight).toBeLessThanOrEqual(4);
    expect(storage.puts.map((p) => p.sizeBytes).sort((a, b) => a - b)).toEqual([
      clip.sizeBytes - 20 * MIB,
      5 * MIB,
      5 * MIB,
      5 * MIB,
      5 * MIB,
    ]);
    // Lazily signed: one batch of the next 2 × concurrency parts covers all five.
    expect(spy.signedBatches()).toEqual([[1, 2, 3, 4, 5]]);

    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(job).toMatchObject({ status: 'queued', contentType: 'video/mp4', sizeBytes: clip.sizeBytes, sampleFps: 5 });
    expect(await storedSha256(server, job.s3Key)).toBe(clip.sha256);
    const messages = await server.drainQueue();
    expect(messages.map((m) => m.MessageId)).toEqual([done.sqsMessageId]);
    expect(JSON.parse(messages[0]?.Body ?? 'null')).toMatchObject({ job_id: done.jobId, s3_key: job.s3Key });

    // Progress: monotonic, ends at the size, one final event per part with its exact size.
    expectProgressContract(events, clip.sizeBytes);
    expect(events.map((e) => e.phase).filter((phase, i, all) => phase !== all[i - 1])).toEqual([
      'preparing',
      'uploading',
      'completing',
      'completed',
    ]);
    const partsDone = events.flatMap((e) => (e.part && e.part.bytesSent === e.part.sizeBytes ? [e.part.partNumber] : []));
    expect(partsDone.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    const lastUploading = events.filter((e) => e.phase === 'uploading').at(-1);
    expect(lastUploading?.bytesSent).toBe(clip.sizeBytes);
    expect(lastUploading?.bytesPerSecond).toBeGreaterThan(0);
  });

  it('signs parts lazily, the next 2 × concurrency at a time, and records stored parts as it goes', async () => {
    const sessionId = await newSession(client);
    const spy = new ApiSpy(server, coachA);
    const done = await uploadVideo({ client: spy.client, sessionId, file: { path: clip.path }, concurrency: 1 });

    expect(done.status).toBe('queued');
    expect(spy.signedBatches()).toEqual([[1, 2], [3, 4], [5]]);
    // With one part in flight every part is recorded on its own, before complete.
    const recorded = spy.calls
      .filter((c) => c.path === 'upload.recordParts')
      .flatMap((c) => (c.input as { parts: { partNumber: number }[] }).parts.map((p) => p.partNumber));
    expect(recorded.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    const order = spy.calls.map((c) => c.path);
    expect(order.lastIndexOf('upload.recordParts')).toBeLessThan(order.indexOf('upload.complete'));
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(await storedSha256(server, job.s3Key)).toBe(clip.sha256);
  });

  it('sends a small browser File in one PUT with the signed headers and its own content type', async () => {
    await server.drainQueue();
    const sessionId = await newSession(client);
    const bytes = randomBytes(MIB + 77);
    const file = new File([bytes], 'net-session.mov', { type: 'video/quicktime' });
    const storage = new StorageFetch();
    const events: UploadProgressEvent[] = [];

    let uploadMode: string | undefined;
    const done = await uploadVideo({
      client,
      sessionId,
      file,
      fetch: storage.fetch,
      onProgress: (e) => events.push(e),
      onJobCreated: (job) => (uploadMode = job.uploadMode),
    });

    expect(done.status).toBe('queued');
    expect(uploadMode).toBe('single');
    expect(storage.puts).toHaveLength(1);
    expect(storage.puts[0]).toMatchObject({ partNumber: undefined, sizeBytes: bytes.length });
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(job).toMatchObject({ contentType: 'video/quicktime', sizeBytes: bytes.length });
    expect(job.s3Key.endsWith('.mov')).toBe(true);
    expect(await storedSha256(server, job.s3Key)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await server.drainQueue()).map((m) => m.MessageId)).toEqual([done.sqsMessageId]);
    expectProgressContract(events, bytes.length);
    expect(events.some((e) => e.part)).toBe(false);
  });

  it('stops a file path upload read from disk when cancelled, and fails without retrying when the file changes', async () => {
    const sessionId = await newSession(client);
    const controller = new AbortController();
    let cancelledJob: string | undefined;
    const cancelled = await uploadVideo({
      client,
      sessionId,
      file: clip.path,
      signal: controller.signal,
      onJobCreated: ({ jobId }) => (cancelledJob = jobId),
      onProgress: (event) => event.part?.bytesSent === 0 && controller.abort(),
    }).then(
      () => expect.fail('the upload should have been cancelled'),
      (error: unknown) => error,
    );
    expect((cancelled as Error).name).toBe('AbortError');
    await expect(client.jobs.get.query({ jobId: cancelledJob ?? '' })).resolves.toMatchObject({ status: 'aborted' });

    const changing = await writeRandomFile(dir, 'still-recording.mp4', 23 * MIB);
    let appended = false;
    const changed = await uploadVideo({
      client,
      sessionId: await newSession(client),
      file: changing.path,
      concurrency: 1,
      backoff: { initialDelayMs: 5, maxDelayMs: 20 },
      onProgress: (event) => {
        // The camera app is still writing it: the file grows once the first part is stored.
        if (event.part && event.part.bytesSent > 0 && !appended) {
          appended = true;
          appendFileSync(changing.path, randomBytes(1024));
        }
      },
    }).then(
      () => expect.fail('the upload should have failed'),
      (error: unknown) => error,
    );
    expect(changed).toBeInstanceOf(UploadError);
    expect((changed as Error).message).toBe('The file changed during the upload.');
  });

  it(
    'keeps memory flat: a file path is read by range into reused buffers, never a whole part in memory',
    { timeout: 90_000 },
    async () => {
      const big = await writeRandomFile(dir, 'long-match.mp4', 48 * MIB);
      const sessionId = await newSession(client);
      // No fetch given: file paths take the Node PUT that reads each part from disk as the socket drains.
      const { result: done, peakBytes } = await peakArrayBuffersDuring((sample) =>
        uploadVideo({ client, sessionId, file: big.path, onProgress: sample }),
      );
      // Ten 5 MiB parts, four in flight. fetch with Blob parts held them whole (about 21 MiB measured);
      // now each PUT holds two 256 KiB buffers, so not even one part is ever in memory.
      expect(peakBytes).toBeLessThan(5 * MIB);
      expect(done.status).toBe('queued');
      const job = await client.jobs.get.query({ jobId: done.jobId });
      expect(await storedSha256(server, job.s3Key)).toBe(big.sha256);
    },
  );

  it('reuses chunk buffers across parts: a file path of ten parts allocates buffers for the four PUTs in flight, not one pair per part', async () => {
    const file = await writeRandomFile(dir, 'reused-buffers.mp4', 48 * MIB);
    const sessionId = await newSession(client);
    const before = chunkBuffersAllocated();
    const done = await uploadVideo({ client, sessionId, file: file.path });
    // Ten 5 MiB parts, four in flight, two 256 KiB buffers each: at most 8 new buffers (none if an
    // earlier upload in this file left spares); one pair per part would be 20. Each one left behind
    // is 256 KiB of garbage outside the heap, which is what a 2 GiB upload's RSS grew by.
    expect(chunkBuffersAllocated() - before).toBeLessThanOrEqual(8);
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(await storedSha256(server, job.s3Key)).toBe(file.sha256);
  });
});
