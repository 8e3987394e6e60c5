import { randomBytes, randomUUID } from 'node:crypto';

import createClient, { type Client } from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { coachA } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import type { paths } from './generated/coach-api.ts';

/**
 * docs/mobile.md, replayed: the REST calls a phone makes to upload a large
 * video in the background, in the guide's order and nothing else.
 */

const MIB = 1024 ** 2;
const HOUR = 3600;
/** A background session may hold transfers for hours: part URLs and the idle window are set to fit (docs/mobile.md). */
const BACKGROUND_SECONDS = 6 * HOUR;

let server: TestServer;
let video: Uint8Array;

beforeAll(async () => {
  server = await startTestServer({
    config: {
      maxUploadBytes: 64 * MIB,
      // Over 1 MiB goes multipart, in 5 MiB parts (S3's smallest): 16 MiB is four parts.
      multipartThresholdBytes: 1 * MIB,
      multipartPartSizeBytes: 5 * MIB,
      partUrlExpiresSeconds: BACKGROUND_SECONDS,
      uploadIdleWindowSeconds: BACKGROUND_SECONDS,
    },
  });
  video = randomBytes(16 * MIB);
});
afterAll(() => server?.close());

/** The app's REST client, with every API call it makes written down as `METHOD /path`. */
async function appClient(): Promise<{ api: Client<paths>; calls: string[] }> {
  const token = await server.tokenFor(coachA);
  const api = createClient<paths>({ baseUrl: `${server.url}/api/v1`, headers: { authorization: `Bearer ${token}` } });
  const calls: string[] = [];
  api.use({
    onRequest({ request }) {
      const { pathname } = new URL(request.url);
      calls.push(`${request.method} ${pathname.replace('/api/v1', '').replace(/[0-9a-f-]{36}/g, ':id')}`);
    },
  });
  return { api, calls };
}

/** What the OS's background transfer does with one part: a PUT straight to storage, nothing to the API. */
async function backgroundPut(part: { partNumber: number; url: string; sizeBytes: number }, partSize: number) {
  const start = (part.partNumber - 1) * partSize;
  const response = await fetch(part.url, { method: 'PUT', body: video.subarray(start, start + part.sizeBytes) });
  expect(response.status).toBe(200);
  // URLSession hands the app `task.response`; WorkManager's worker reads the response header.
  return { partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' };
}

async function analysisMessagesFor(jobId: string) {
  const messages = await server.drainQueue();
  return messages.filter((m) => (JSON.parse(m.Body ?? '{}') as { job_id?: string }).job_id === jobId);
}

async function startUpload(api: Client<paths>, clientRequestId: string) {
  const session = await api.POST('/sessions', { body: { title: 'Match day', playerIds: [] } });
  const sessionId = session.data?.sessionId ?? '';
  const initiated = await api.POST('/uploads', {
    body: { sessionId, sizeBytes: video.byteLength, contentType: 'video/mp4', clientRequestId },
  });
  return { sessionId, upload: initiated.data };
}

describe('a phone uploading a large video in the background (docs/mobile.md)', () => {
  it('signs every part up front, uploads with no API call in between, records later in one call and completes once', async () => {
    const { api, calls } = await appClient();
    const signedAt = Date.now();

    // 1-2. Session and upload; the app stores the job id and plan before anything else.
    const { upload } = await startUpload(api, randomUUID());
    expect(upload).toMatchObject({ uploadMode: 'multipart', multipart: { partSizeBytes: 5 * MIB, partCount: 4 } });
    if (!upload?.multipart) throw new Error('expected a multipart upload');
    const { jobId } = upload;
    const { partSizeBytes, partCount } = upload.multipart;

    // 3. Every part URL in one call, each living as long as a background session may hold it.
    const partNumbers = Array.from({ length: partCount }, (_, i) => i + 1);
    const signed = await api.POST('/uploads/{jobId}/part-urls', { params: { path: { jobId } }, body: { partNumbers } });
    const { parts, expiresAt, uploadExpiresAt } = signed.data ?? { parts: [], expiresAt: '', uploadExpiresAt: '' };
    expect(parts.map((part) => part.partNumber)).toEqual(partNumbers);
    expect(parts.reduce((sum, part) => sum + part.sizeBytes, 0)).toBe(video.byteLength);
    expect(Date.parse(expiresAt) - signedAt).toBeGreaterThanOrEqual((BACKGROUND_SECONDS - 60) * 1000);
    expect(Date.parse(uploadExpiresAt) - signedAt).toBeGreaterThanOrEqual((BACKGROUND_SECONDS - 60) * 1000);
    const callsBeforeTransfers = calls.length;

    // 4. The OS uploads every part while the app sleeps: storage only, not one API call.
    const etags = await Promise.all(parts.map((part) => backgroundPut(part, partSizeBytes)));
    expect(calls).toHaveLength(callsBeforeTransfers);

    // 5. Woken with the transfers done: every ETag recorded in one call.
    const recorded = await api.POST('/uploads/{jobId}/parts', { params: { path: { jobId } }, body: { parts: etags } });
    expect(recorded.data).toMatchObject({ missingPartNumbers: [], partCount });

    // 6. Complete; a repeat (the answer lost on a flaky network) answers the same and queues nothing more.
    const first = await api.POST('/uploads/{jobId}/complete', { params: { path: { jobId } }, body: {} });
    expect(first.data).toMatchObject({ jobId, status: 'queued', sqsMessageId: expect.any(String) });
    const repeat = await api.POST('/uploads/{jobId}/complete', { params: { path: { jobId } }, body: {} });
    expect(repeat.data).toEqual(first.data);

    expect(calls).toEqual([
      'POST /sessions',
      'POST /uploads',
      'POST /uploads/:id/part-urls',
      'POST /uploads/:id/parts',
      'POST /uploads/:id/complete',
      'POST /uploads/:id/complete',
    ]);
    const messages = await analysisMessagesFor(jobId);
    expect(messages.map((m) => m.MessageId)).toEqual([first.data?.sqsMessageId]);
    const outbox = await server.db.selectFrom('outboxMessages').select('dedupeKey').where('jobId', '=', jobId).execute();
    expect(outbox).toEqual([{ dedupeKey: `analysis:${jobId}` }]);
    expect(await server.storage.head(upload.s3Key)).toMatchObject({ sizeBytes: video.byteLength });
  });

  it('after the app was killed: finds its job again, lists what is recorded, re-sends only the rest and completes once', async () => {
    const { api, calls } = await appClient();
    const clientRequestId = randomUUID();
    const { sessionId, upload } = await startUpload(api, clientRequestId);
    if (!upload?.multipart) throw new Error('expected a multipart upload');
    const { jobId } = upload;
    const { partSizeBytes, partCount } = upload.multipart;
    const partNumbers = Array.from({ length: partCount }, (_, i) => i + 1);
    const signed = await api.POST('/uploads/{jobId}/part-urls', { params: { path: { jobId } }, body: { partNumbers } });
    const etags = await Promise.all((signed.data?.parts ?? []).map((part) => backgroundPut(part, partSizeBytes)));
    // Woken for the first two transfers only: recorded. Then the app is killed, and the other
    // transfers' results (their ETags) are lost with it.
    await api.POST('/uploads/{jobId}/parts', { params: { path: { jobId } }, body: { parts: etags.slice(0, 2) } });

    // Relaunched without its saved state: the same clientRequestId finds the same job.
    const again = await api.POST('/uploads', {
      body: { sessionId, sizeBytes: video.byteLength, contentType: 'video/mp4', clientRequestId },
    });
    expect(again.data?.jobId).toBe(jobId);
    // The server's record says what is missing; only that is signed and sent again.
    const listed = await api.GET('/uploads/{jobId}/parts', { params: { path: { jobId } } });
    expect(listed.data).toMatchObject({ partCount, missingPartNumbers: [3, 4] });
    const missing = listed.data?.missingPartNumbers ?? [];
    const resigned = await api.POST('/uploads/{jobId}/part-urls', {
      params: { path: { jobId } },
      body: { partNumbers: missing },
    });
    const resent = await Promise.all((resigned.data?.parts ?? []).map((part) => backgroundPut(part, partSizeBytes)));
    // The last parts' ETags go with the complete itself.
    const done = await api.POST('/uploads/{jobId}/complete', { params: { path: { jobId } }, body: { parts: resent } });
    expect(done.data).toMatchObject({ jobId, status: 'queued', sqsMessageId: expect.any(String) });

    expect(calls).toEqual([
      'POST /sessions',
      'POST /uploads',
      'POST /uploads/:id/part-urls',
      'POST /uploads/:id/parts',
      'POST /uploads',
      'GET /uploads/:id/parts',
      'POST /uploads/:id/part-urls',
      'POST /uploads/:id/complete',
    ]);
    expect((await analysisMessagesFor(jobId)).map((m) => m.MessageId)).toEqual([done.data?.sqsMessageId]);
    expect(await server.storage.head(upload.s3Key)).toMatchObject({ sizeBytes: video.byteLength });
  });
});
