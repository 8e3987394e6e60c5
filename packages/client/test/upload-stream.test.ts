import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { resumeUpload, UploadError, uploadVideo, type ApiClient, type UploadProgressEvent } from '@coach/client';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import {
  ApiSpy,
  expectProgressContract,
  failureOf,
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
let sessionId: string;

beforeAll(async () => {
  server = await startTestServer({ config: uploadTestConfig });
  client = server.clientFor(coachA);
  dir = await mkdtemp(path.join(tmpdir(), 'coach-client-stream-'));
  // Five parts: four of 5 MiB and a last one of 3 MiB (and change).
  clip = await writeRandomFile(dir, 'match.mp4', 23 * MIB + 4_321);
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  sessionId = await newSession(client);
  await server.drainQueue();
});

/** A web ReadableStream that hands out `bytes` in `chunkSize` chunks, on demand. */
function webStream(bytes: Uint8Array, chunkSize: number, onCancel?: () => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
    cancel: onCancel,
  });
}

describe('uploadVideo from a stream', () => {
  it('uploads a Node fs stream as parallel parts and stores the exact bytes', async () => {
    const storage = new StorageFetch();
    const spy = new ApiSpy(server, coachA);
    const events: UploadProgressEvent[] = [];
    const stream = createReadStream(clip.path);

    const done = await uploadVideo({
      client: spy.client,
      sessionId,
      file: { stream, sizeBytes: clip.sizeBytes },
      fetch: storage.fetch,
      onProgress: (event) => events.push(event),
    });

    expect(done).toMatchObject({ status: 'queued', sqsMessageId: expect.any(String) });
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
    // The content type comes from the fs stream's path.
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(job).toMatchObject({ status: 'queued', contentType: 'video/mp4', sizeBytes: clip.sizeBytes });
    expect(await storedSha256(server, job.s3Key)).toBe(clip.sha256);
    expect((await server.drainQueue()).map((m) => m.MessageId)).toEqual([done.sqsMessageId]);
    expectProgressContract(events, clip.sizeBytes);
    expect(stream.destroyed).toBe(true);
  });

  it('sends a small web ReadableStream in one PUT with the given content type', async () => {
    const bytes = randomBytes(MIB + 333);
    const storage = new StorageFetch();
    const events: UploadProgressEvent[] = [];

    const done = await uploadVideo({
      client,
      sessionId,
      file: { stream: webStream(bytes, 64 * 1024 + 7), sizeBytes: bytes.length, contentType: 'video/webm' },
      fetch: storage.fetch,
      onProgress: (event) => events.push(event),
    });

    expect(done.status).toBe('queued');
    expect(storage.puts).toHaveLength(1);
    expect(storage.puts[0]).toMatchObject({ partNumber: undefined, sizeBytes: bytes.length });
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(job).toMatchObject({ contentType: 'video/webm', sizeBytes: bytes.length });
    expect(await storedSha256(server, job.s3Key)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expectProgressContract(events, bytes.length);
  });

  it('fails clearly, without completing, when a stream is shorter than sizeBytes', async () => {
    const storage = new StorageFetch();
    const spy = new ApiSpy(server, coachA);
    // Declares the whole clip, yields 2 MiB less: the last part cannot be read.
    const stream = createReadStream(clip.path, { end: clip.sizeBytes - 2 * MIB - 1 });
    const error = await failureOf(
      uploadVideo({
        client: spy.client,
        sessionId,
        file: { stream, sizeBytes: clip.sizeBytes },
        fetch: storage.fetch,
      }),
    );
    expect(error).toBeInstanceOf(UploadError);
    const { jobId, message } = error as UploadError;
    expect(jobId).toEqual(expect.any(String));
    expect(message).toContain(`ended after ${clip.sizeBytes - 2 * MIB} bytes`);
    expect(message).toContain(String(clip.sizeBytes));
    expect(storage.puts.some((p) => p.partNumber === 5)).toBe(false);
    expect(spy.calls.map((c) => c.path)).not.toContain('upload.complete');
    await expect(client.jobs.get.query({ jobId: jobId ?? '' })).resolves.toMatchObject({ status: 'awaiting_upload' });
    expect(await server.drainQueue()).toHaveLength(0);
    expect(stream.destroyed).toBe(true);
  });

  it('fails clearly, sending nothing, when a stream yields more than sizeBytes', async () => {
    const bytes = randomBytes(300 * 1024);
    const storage = new StorageFetch();
    const spy = new ApiSpy(server, coachA);
    const error = await failureOf(
      uploadVideo({
        client: spy.client,
        sessionId,
        file: { stream: Readable.from([bytes, Buffer.from('extra')]), sizeBytes: bytes.length },
        fetch: storage.fetch,
      }),
    );
    expect(error).toBeInstanceOf(UploadError);
    expect((error as Error).message).toContain(`more than the ${bytes.length} bytes`);
    expect(storage.puts).toHaveLength(0);
    expect(spy.calls.map((c) => c.path)).not.toContain('upload.complete');
  });

  it('resumes from a stream: skips the stored parts and sends only the missing ones', async () => {
    const first = new StorageFetch();
    // The first run (from the path, so parts 1-4 start together): parts 1 and 3 land,
    // every other PUT fails on the network and is not retried.
    first.fault = (put) => (put.partNumber === 1 || put.partNumber === 3 ? undefined : new TypeError('fetch failed (injected)'));
    const error = await failureOf(
      uploadVideo({
        client,
        sessionId,
        file: clip.path,
        fetch: first.fetch,
        retries: 0,
      }),
    );
    const jobId = (error as UploadError).jobId ?? '';
    const { missingPartNumbers } = await client.upload.listParts.query({ jobId });
    // Stored parts before and between missing ones: the resume skips bytes at the start and mid-stream.
    expect(missingPartNumbers).toEqual([2, 4, 5]);

    const second = new StorageFetch();
    const stream = createReadStream(clip.path);
    const done = await resumeUpload({ client, jobId, file: { stream, sizeBytes: clip.sizeBytes }, fetch: second.fetch });
    expect(done).toMatchObject({ jobId, status: 'queued' });
    expect(second.attemptsByPart()).toEqual(Object.fromEntries(missingPartNumbers.map((n) => [n, 1])));
    const job = await client.jobs.get.query({ jobId });
    expect(await storedSha256(server, job.s3Key)).toBe(clip.sha256);
    expect(stream.destroyed).toBe(true);
  });

  it('cancelling destroys a Node stream and cancels a web stream', async () => {
    const controller = new AbortController();
    const stream = createReadStream(clip.path);
    let partsDone = 0;
    const error = await failureOf(
      uploadVideo({
        client,
        sessionId,
        file: { stream, sizeBytes: clip.sizeBytes },
        concurrency: 2,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.part && event.part.bytesSent === event.part.sizeBytes && ++partsDone === 1) controller.abort();
        },
      }),
    );
    expect((error as Error).name).toBe('AbortError');
    expect(stream.destroyed).toBe(true);
    const { items } = await client.jobs.list.query({ sessionId });
    await expect(client.jobs.get.query({ jobId: items[0]?.jobId ?? '' })).resolves.toMatchObject({ status: 'aborted' });

    let cancelled = false;
    const web = webStream(randomBytes(1000), 100, () => {
      cancelled = true;
    });
    const early = await failureOf(
      uploadVideo({ client, sessionId, file: { stream: web, sizeBytes: 1000 }, signal: AbortSignal.abort() }),
    );
    expect((early as Error).name).toBe('AbortError');
    expect(cancelled).toBe(true);
  });

  it('keeps memory flat: a 96 MiB stream holds about concurrency × part size, never the file', { timeout: 90_000 }, async () => {
    const sizeBytes = 96 * MIB;
    const hash = createHash('sha256');
    async function* generate() {
      for (let sent = 0; sent < sizeBytes; sent += MIB) {
        const chunk = randomBytes(MIB);
        hash.update(chunk);
        yield chunk;
      }
    }
    const { result: done, peakBytes } = await peakArrayBuffersDuring((sample) =>
      uploadVideo({
        client,
        sessionId,
        // Byte mode, so the stream itself buffers 64 KiB ahead, not 16 chunks.
        file: { stream: Readable.from(generate(), { objectMode: false }), sizeBytes },
        onProgress: sample,
      }),
    );
    // Four 5 MiB parts held until stored (20 MiB, the part being read included), plus the copies
    // fetch makes of a Blob while sending it (about as much again at worst): 45-55 MiB measured.
    // Buffering the stream whole would hold 96 MiB and more.
    expect(peakBytes).toBeLessThan(72 * MIB);
    expect(done.status).toBe('queued');
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(await storedSha256(server, job.s3Key)).toBe(hash.digest('hex'));
  });
});
