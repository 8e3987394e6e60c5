import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  errorCodeOf,
  pauseReason,
  resumeUpload,
  StorageHttpError,
  UploadError,
  uploadVideo,
  type ApiClient,
  type CreatedJob,
  type UploadProgressEvent,
} from '@coach/client';

import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import {
  ApiSpy,
  expectProgressContract,
  failureOf,
  fastBackoff,
  MIB,
  newSession,
  s3Error,
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
  dir = await mkdtemp(path.join(tmpdir(), 'coach-client-faults-'));
  // Five parts: four of 5 MiB and a last one of 3 MiB.
  clip = await writeRandomFile(dir, 'match.mp4', 23 * MIB + 999);
});
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  sessionId = await newSession(client);
  await server.drainQueue();
});

const PART_SIZES = { 1: 5 * MIB, 2: 5 * MIB, 3: 5 * MIB, 4: 5 * MIB, 5: 3 * MIB + 999 } as Record<number, number>;

function uploadErrorOf(error: unknown): UploadError & { jobId: string } {
  expect(error).toBeInstanceOf(UploadError);
  const jobId = (error as UploadError).jobId;
  expect(jobId).toEqual(expect.any(String));
  return error as UploadError & { jobId: string };
}

async function expectStoredClip(jobId: string) {
  const job = await client.jobs.get.query({ jobId });
  expect(job.status).toBe('queued');
  expect(await storedSha256(server, job.s3Key)).toBe(clip.sha256);
}

describe('resume', () => {
  it('after a network drop, resumes from the server record on another device and sends only the missing parts', async () => {
    const first = new StorageFetch();
    const allowed = new Set<number>();
    // The first two part PUTs get through; then the network is gone for good.
    first.fault = (put) => {
      const n = put.partNumber ?? 0;
      if (allowed.has(n) || (put.attempt === 1 && allowed.size < 2)) {
        allowed.add(n);
        return undefined;
      }
      return new TypeError('fetch failed (injected: network dropped)');
    };
    const error = uploadErrorOf(
      await failureOf(uploadVideo({ client, sessionId, file: clip.path, fetch: first.fetch, retries: 1, backoff: fastBackoff })),
    );
    const jobId = error.jobId;
    expect(error.cause).toBeInstanceOf(TypeError);
    // Network errors are retried (retries: 1 → two attempts), never more.
    const attempts = Object.values(first.attemptsByPart());
    expect(Math.max(...attempts)).toBe(2);

    // The server recorded exactly the parts that reached storage; the job stays open.
    const stored = [...allowed].sort((a, b) => a - b);
    const record = await client.upload.listParts.query({ jobId });
    expect(record.parts.map((p) => p.partNumber)).toEqual(stored);
    const missing = [1, 2, 3, 4, 5].filter((n) => !allowed.has(n));
    expect(record.missingPartNumbers).toEqual(missing);
    await expect(client.jobs.get.query({ jobId })).resolves.toMatchObject({ status: 'awaiting_upload' });
    // A missing part is caught at completion.
    expect(errorCodeOf(await failureOf(client.upload.complete.mutate({ jobId })))).toBe('UPLOAD_INCOMPLETE');

    // Another owner cannot resume it, and the wrong file is refused before anything is sent.
    const stranger = new StorageFetch();
    const refused = await failureOf(
      resumeUpload({ client: server.clientFor(coachB), jobId, file: clip.path, fetch: stranger.fetch }),
    );
    expect(errorCodeOf(refused)).toBe('JOB_NOT_FOUND');
    const wrongFile = await failureOf(
      resumeUpload({ client, jobId, file: new Blob([randomBytes(1000)]), fetch: stranger.fetch }),
    );
    expect(wrongFile).toBeInstanceOf(UploadError);
    expect((wrongFile as Error).message).toContain(`${clip.sizeBytes} bytes`);
    expect(stranger.puts).toHaveLength(0);

    // "Another device": a fresh client and a fresh fetch, nothing shared with the first run.
    const second = new StorageFetch();
    const events: UploadProgressEvent[] = [];
    const done = await resumeUpload({
      client: server.clientFor(coachA),
      jobId,
      file: clip.path,
      fetch: second.fetch,
      onProgress: (event) => events.push(event),
    });
    expect(done).toMatchObject({ jobId, status: 'queued', sqsMessageId: expect.any(String) });
    expect(second.attemptsByPart()).toEqual(Object.fromEntries(missing.map((n) => [n, 1])));
    await expectStoredClip(jobId);
    expect((await server.drainQueue()).map((m) => m.MessageId)).toEqual([done.sqsMessageId]);

    // Progress starts from what was already stored and ends at the size.
    const storedBytes = stored.reduce((sum, n) => sum + (PART_SIZES[n] ?? 0), 0);
    // The very first event already counts them: a resume never shows 0 % first.
    expect(events[0]).toMatchObject({ phase: 'preparing', bytesSent: storedBytes });
    expect(events.find((e) => e.phase === 'uploading')?.bytesSent).toBe(storedBytes);
    expectProgressContract(events, clip.sizeBytes);

    // Resuming a finished upload sends nothing and answers as complete did.
    const again = new StorageFetch();
    await expect(resumeUpload({ client, jobId, file: clip.path, fetch: again.fetch })).resolves.toEqual(done);
    expect(again.puts).toHaveLength(0);
    expect(await server.drainQueue()).toHaveLength(0);
  });

  it('continues a single PUT after a reload: the same clientRequestId answers the same job, and a 412 means it landed', async () => {
    const bytes = randomBytes(256 * 1024);
    const file = new Blob([bytes], { type: 'video/mp4' });
    const first = new StorageFetch();
    // The PUT reaches storage, then the page is gone (a reload): nothing completes it.
    first.fault = () => ({
      forward: true,
      respond: async (response) => {
        await response.arrayBuffer();
        throw new TypeError('fetch failed (injected: page reloaded)');
      },
    });
    const created: CreatedJob[] = [];
    const firstEvents: UploadProgressEvent[] = [];
    const error = uploadErrorOf(
      await failureOf(
        uploadVideo({
          client,
          sessionId,
          file,
          fetch: first.fetch,
          retries: 0,
          onJobCreated: (job) => created.push(job),
          onProgress: (event) => firstEvents.push(event),
        }),
      ),
    );
    const [job] = created;
    expect(job).toMatchObject({
      jobId: error.jobId,
      uploadMode: 'single',
      clientRequestId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    const record = await client.jobs.get.query({ jobId: error.jobId });
    // When the upload expires, as the server set it, from the moment the job exists.
    expect(job?.expiresAt).toBe(record.uploadExpiresAt);
    expect(firstEvents.find((e) => e.phase === 'uploading')?.expiresAt).toBe(record.uploadExpiresAt);

    // The same file and options with the kept clientRequestId: the same job, a fresh URL. Real S3
    // answers the create-only PUT of an object already there with 412 (the emulator ignores If-None-Match).
    const second = new StorageFetch();
    second.fault = () => s3Error(412, 'PreconditionFailed');
    const again: CreatedJob[] = [];
    const done = await uploadVideo({
      client,
      sessionId,
      file,
      fetch: second.fetch,
      clientRequestId: job?.clientRequestId,
      onJobCreated: (created) => again.push(created),
    });
    expect(again.map((j) => j.jobId)).toEqual([error.jobId]);
    expect(second.puts).toHaveLength(1);
    expect(done).toMatchObject({ jobId: error.jobId, status: 'queued' });
    expect(await storedSha256(server, record.s3Key)).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect((await server.drainQueue()).map((m) => m.MessageId)).toEqual([done.sqsMessageId]);
  });

  it('resumes a single PUT whose answer was lost by completing it', async () => {
    const bytes = randomBytes(256 * 1024);
    const storage = new StorageFetch();
    // The PUT reaches storage, but the phone never hears back.
    storage.fault = () => ({
      forward: true,
      respond: async (response) => {
        await response.arrayBuffer();
        throw new TypeError('fetch failed (injected: connection reset)');
      },
    });
    const error = uploadErrorOf(
      await failureOf(uploadVideo({ client, sessionId, file: new Blob([bytes]), fetch: storage.fetch, retries: 0 })),
    );
    expect(storage.puts).toHaveLength(1);

    const done = await resumeUpload({ client, jobId: error.jobId, file: new Blob([bytes]) });
    expect(done).toMatchObject({ jobId: error.jobId, status: 'queued' });
    const job = await client.jobs.get.query({ jobId: error.jobId });
    expect(await storedSha256(server, job.s3Key)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});

describe('retry policy', () => {
  it('re-signs a part whose URL storage refused with 403 (expired) and completes', async () => {
    const storage = new StorageFetch();
    storage.fault = (put) => (put.partNumber === 2 && put.attempt === 1 ? s3Error(403, 'AccessDenied') : undefined);
    const spy = new ApiSpy(server, coachA);

    const done = await uploadVideo({ client: spy.client, sessionId, file: clip.path, fetch: storage.fetch });

    expect(done.status).toBe('queued');
    expect(storage.attemptsByPart()).toEqual({ 1: 1, 2: 2, 3: 1, 4: 1, 5: 1 });
    // The first batch signed every part; part 2 alone was signed again after its 403.
    expect(spy.signedBatches()).toEqual([[1, 2, 3, 4, 5], [2]]);
    await expectStoredClip(done.jobId);
  });

  it('retries 503 and 429 with backoff, then succeeds', async () => {
    const storage = new StorageFetch();
    storage.fault = (put) => {
      if (put.partNumber === 2 && put.attempt <= 2) return s3Error(503, 'SlowDown');
      if (put.partNumber === 4 && put.attempt === 1) return s3Error(429, 'TooManyRequests');
      return undefined;
    };
    const events: UploadProgressEvent[] = [];
    const done = await uploadVideo({
      client,
      sessionId,
      file: clip.path,
      fetch: storage.fetch,
      backoff: fastBackoff,
      onProgress: (event) => events.push(event),
    });
    expect(done.status).toBe('queued');
    expect(storage.attemptsByPart()).toEqual({ 1: 1, 2: 3, 3: 1, 4: 2, 5: 1 });
    await expectStoredClip(done.jobId);
    // Retried parts are counted once: one "done" event per part, adding up to the file size.
    const partsDone = events.flatMap((e) => (e.part && e.part.bytesSent === e.part.sizeBytes ? [e.part] : []));
    expect(partsDone.map((part) => part.partNumber).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(partsDone.reduce((sum, part) => sum + part.sizeBytes, 0)).toBe(clip.sizeBytes);
    expectProgressContract(events, clip.sizeBytes);
  });

  it('gives up after the configured retries', async () => {
    const storage = new StorageFetch();
    storage.fault = (put) => (put.partNumber === 3 ? s3Error(500, 'InternalError') : undefined);
    const error = uploadErrorOf(
      await failureOf(
        uploadVideo({ client, sessionId, file: clip.path, fetch: storage.fetch, retries: 2, backoff: fastBackoff }),
      ),
    );
    expect(error.cause).toBeInstanceOf(StorageHttpError);
    expect(error.cause).toMatchObject({ status: 500, storageCode: 'InternalError', partNumber: 3 });
    expect(storage.attemptsByPart()[3]).toBe(3);
  });

  it('never retries another 4xx, and leaves the job open for a resume', async () => {
    const storage = new StorageFetch();
    storage.fault = (put) => (put.partNumber === 2 ? s3Error(400, 'BadDigest') : undefined);
    const error = uploadErrorOf(
      await failureOf(uploadVideo({ client, sessionId, file: clip.path, fetch: storage.fetch, backoff: fastBackoff })),
    );
    expect(error.cause).toMatchObject({ status: 400, storageCode: 'BadDigest', partNumber: 2 });
    expect(storage.attemptsByPart()[2]).toBe(1);
    await expect(client.jobs.get.query({ jobId: error.jobId })).resolves.toMatchObject({ status: 'awaiting_upload' });
    expect(await server.drainQueue()).toHaveLength(0);
  });

  it('treats 412 on a retried single PUT as "already stored" and lets complete verify it', async () => {
    const bytes = randomBytes(300 * 1024);
    const storage = new StorageFetch();
    // Real S3 answers a create-only PUT that already succeeded with 412; the emulator ignores If-None-Match.
    storage.fault = (put) => {
      if (put.attempt === 1) {
        return {
          forward: true,
          respond: async (response) => {
            await response.arrayBuffer();
            return s3Error(503, 'ServiceUnavailable');
          },
        };
      }
      return s3Error(412, 'PreconditionFailed');
    };
    const done = await uploadVideo({
      client,
      sessionId,
      file: new Blob([bytes], { type: 'video/mp4' }),
      fetch: storage.fetch,
      backoff: fastBackoff,
    });
    expect(done.status).toBe('queued');
    expect(storage.puts).toHaveLength(2);
    const job = await client.jobs.get.query({ jobId: done.jobId });
    expect(await storedSha256(server, job.s3Key)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('retries an API call that failed on the network', async () => {
    const spy = new ApiSpy(server, coachA);
    spy.failNext = { path: 'upload.signParts', error: new TypeError('fetch failed (injected)') };
    const done = await uploadVideo({ client: spy.client, sessionId, file: clip.path, backoff: fastBackoff });
    expect(spy.failNext).toBeUndefined();
    expect(done.status).toBe('queued');
    await expectStoredClip(done.jobId);
  });
});

describe('cancel', () => {
  it('stops sending, aborts the multipart upload and rejects with an AbortError', async () => {
    const controller = new AbortController();
    const storage = new StorageFetch();
    let partsDone = 0;
    const error = await failureOf(
      uploadVideo({
        client,
        sessionId,
        file: clip.path,
        concurrency: 2,
        fetch: storage.fetch,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.part && event.part.bytesSent === event.part.sizeBytes && ++partsDone === 2) controller.abort();
        },
      }),
    );
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('AbortError');
    const putsAtCancel = storage.puts.length;
    expect(putsAtCancel).toBeLessThan(5);

    const { items } = await client.jobs.list.query({ sessionId });
    expect(items).toHaveLength(1);
    const jobId = items[0]?.jobId ?? '';
    await expect(client.jobs.get.query({ jobId })).resolves.toMatchObject({ status: 'aborted', errorCode: 'UPLOAD_ABORTED' });

    // Nothing is left behind: storage no longer knows the multipart upload.
    const row = await server.db
      .selectFrom('videoAnalysisJobs')
      .select(['multipartUploadId', 's3Key'])
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    expect(row.multipartUploadId).toEqual(expect.any(String));
    const url = await server.storage.presignUploadPart({
      key: row.s3Key,
      uploadId: row.multipartUploadId ?? '',
      partNumber: 1,
      contentLength: 5,
      expiresInSeconds: 60,
    });
    const late = await fetch(url, { method: 'PUT', body: new Uint8Array(5) });
    expect(late.status).toBe(404);
    expect(await late.text()).toContain('NoSuchUpload');
    expect(await server.storage.head(row.s3Key)).toBeUndefined();

    // And the client really stopped.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(storage.puts).toHaveLength(putsAtCancel);
    expect(await server.drainQueue()).toHaveLength(0);
  });

  it('pauses instead when aborted with pauseReason(): the server keeps the upload, and a resume sends only what is missing', async () => {
    const controller = new AbortController();
    const api = new ApiSpy(server, coachA);
    const storage = new StorageFetch();
    // Parts 1 and 2 reach storage; the others hang until the pause aborts them.
    const fetchUntilPaused: typeof globalThis.fetch = (input, init) => {
      const part = new URL(input instanceof Request ? input.url : String(input)).searchParams.get('partNumber');
      if (part === '1' || part === '2') return storage.fetch(input, init);
      return new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    };
    let jobId = '';
    const upload = uploadVideo({
      client: api.client,
      sessionId,
      file: clip.path,
      concurrency: 3,
      fetch: fetchUntilPaused,
      signal: controller.signal,
      onJobCreated: (job) => (jobId = job.jobId),
    });
    await expect
      .poll(async () => (jobId ? (await client.upload.listParts.query({ jobId })).parts.map((p) => p.partNumber) : []))
      .toEqual([1, 2]);
    controller.abort(pauseReason());

    const error = await failureOf(upload);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toMatchObject({ name: 'AbortError', message: 'The upload was paused.' });
    expect(api.calls.map((c) => c.path)).not.toContain('upload.abort');
    await expect(client.jobs.get.query({ jobId })).resolves.toMatchObject({ status: 'awaiting_upload' });
    await expect(client.upload.listParts.query({ jobId })).resolves.toMatchObject({ missingPartNumbers: [3, 4, 5] });

    const later = new StorageFetch();
    const done = await resumeUpload({ client, jobId, file: clip.path, fetch: later.fetch });
    expect(done).toMatchObject({ jobId, status: 'queued' });
    expect(later.attemptsByPart()).toEqual({ 3: 1, 4: 1, 5: 1 });
    await expectStoredClip(jobId);
    await server.drainQueue();
  });

  it('rejects at once, creating nothing, when the signal is already aborted', async () => {
    const storage = new StorageFetch();
    const error = await failureOf(
      uploadVideo({ client, sessionId, file: clip.path, fetch: storage.fetch, signal: AbortSignal.abort() }),
    );
    expect((error as Error).name).toBe('AbortError');
    expect(storage.puts).toHaveLength(0);
    await expect(client.jobs.list.query({ sessionId })).resolves.toMatchObject({ items: [] });
  });
});

describe('integrity', () => {
  it('catches a part recorded with the wrong ETag at completion (UPLOAD_PARTS_INVALID), and a plain resume re-sends the parts and completes', async () => {
    const storage = new StorageFetch();
    // Part 3 is stored, but the client is told (and so records) another ETag.
    storage.fault = (put) =>
      put.partNumber === 3
        ? {
            forward: true,
            respond: (response) => {
              const headers = new Headers(response.headers);
              headers.set('etag', `"${'0'.repeat(32)}"`);
              return new Response(response.body, { status: response.status, headers });
            },
          }
        : undefined;
    const error = uploadErrorOf(await failureOf(uploadVideo({ client, sessionId, file: clip.path, fetch: storage.fetch })));
    expect(errorCodeOf(error)).toBe('UPLOAD_PARTS_INVALID');
    await expect(client.jobs.get.query({ jobId: error.jobId })).resolves.toMatchObject({ status: 'awaiting_upload' });
    expect(await server.drainQueue()).toHaveLength(0);

    // The server cleared its record (S3 does not say which part was bad), so resume re-sends every part.
    const { missingPartNumbers, partCount } = await client.upload.listParts.query({ jobId: error.jobId });
    expect(missingPartNumbers).toHaveLength(partCount);
    const resumed = new StorageFetch();
    const done = await resumeUpload({ client, jobId: error.jobId, file: clip.path, fetch: resumed.fetch });
    expect(done.status).toBe('queued');
    expect(resumed.puts.map((p) => p.partNumber ?? 0).sort((a, b) => a - b)).toEqual(missingPartNumbers);
    await expectStoredClip(error.jobId);
  });
});
