import { readFile } from 'node:fs/promises';
import path from 'node:path';

import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openApiTypes } from '@coach/openapi-typegen';
import type { Worker } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { paddedClipOfPerson } from '../../../test/helpers/padded-clip.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { startTestWorker } from '../../../test/helpers/worker.ts';
import { OPENAPI_TYPES_FILE } from '../scripts/openapi-types.ts';
import type { paths } from './generated/coach-api.ts';

const MIB = 1024 ** 2;
let server: TestServer;
let worker: Worker;
let clip: Uint8Array;

beforeAll(async () => {
  // Anything over 1 MiB goes multipart, in parts of 5 MiB (S3's smallest), so a 7 MiB clip has two.
  server = await startTestServer({
    config: { maxUploadBytes: 32 * MIB, multipartThresholdBytes: 1 * MIB, multipartPartSizeBytes: 5 * MIB },
  });
  worker = await startTestWorker(server);
  clip = await paddedClipOfPerson(7 * MIB);
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
});

describe('a client generated from /openapi.json by openapi-typescript, called with openapi-fetch', () => {
  it('is generated from the served document exactly as committed (so the calls below are type-checked against it)', async () => {
    const served = await (await fetch(`${server.url}/openapi.json`)).json();
    const committed = await readFile(OPENAPI_TYPES_FILE, 'utf8');
    expect(await openApiTypes(served as object), 'run `pnpm --filter @coach/server openapi:types`').toBe(committed);
    expect(path.basename(OPENAPI_TYPES_FILE.pathname)).toBe('coach-api.ts');
  });

  it('creates a session, uploads a clip in parts, completes it and follows the job to completed', async () => {
    const token = await server.tokenFor(coachA);
    const api = createClient<paths>({ baseUrl: `${server.url}/api/v1`, headers: { authorization: `Bearer ${token}` } });

    const session = await api.POST('/sessions', { body: { title: 'Nets, Tuesday', playerIds: ['p1'] } });
    expect(session.response.status).toBe(200);
    const sessionId = session.data?.sessionId ?? '';

    const initiated = await api.POST('/uploads', {
      body: { sessionId, sizeBytes: clip.byteLength, contentType: 'video/mp4', sampleFps: 5 },
    });
    const upload = initiated.data;
    expect(upload).toMatchObject({ uploadMode: 'multipart', presignedUrl: null, multipart: { partCount: 2 } });
    if (!upload?.multipart) throw new Error('expected a multipart upload');
    const jobId = upload.jobId;
    const partNumbers = Array.from({ length: upload.multipart.partCount }, (_, i) => i + 1);

    const signed = await api.POST('/uploads/{jobId}/part-urls', { params: { path: { jobId } }, body: { partNumbers } });
    expect(signed.data?.parts).toHaveLength(2);
    const partSize = upload.multipart.partSizeBytes;
    const stored = await Promise.all(
      (signed.data?.parts ?? []).map(async ({ partNumber, url, sizeBytes }) => {
        const body = clip.subarray((partNumber - 1) * partSize, (partNumber - 1) * partSize + sizeBytes);
        const response = await fetch(url, { method: 'PUT', headers: upload.headers, body });
        expect(response.status).toBe(200);
        return { partNumber, etag: response.headers.get('etag') ?? '' };
      }),
    );

    const recorded = await api.POST('/uploads/{jobId}/parts', { params: { path: { jobId } }, body: { parts: stored } });
    expect(recorded.data).toMatchObject({ missingPartNumbers: [], partCount: 2 });
    const listed = await api.GET('/uploads/{jobId}/parts', { params: { path: { jobId } } });
    expect(listed.data?.parts.map((part) => part.partNumber)).toEqual([1, 2]);

    const completed = await api.POST('/uploads/{jobId}/complete', { params: { path: { jobId } }, body: {} });
    expect(completed.data).toMatchObject({ jobId, status: 'queued', sqsMessageId: expect.any(String) });

    const job = await waitFor(
      async () => {
        const { data } = await api.GET('/jobs/{jobId}', { params: { path: { jobId } } });
        return data && ['completed', 'failed'].includes(data.status) ? data : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'the job to finish' },
    );
    expect(job).toMatchObject({ status: 'completed', progressPercent: 100, sizeBytes: clip.byteLength, errorCode: null });
    expect(job.result?.frameCount).toBeGreaterThan(0);

    const jobs = await api.GET('/sessions/{sessionId}/jobs', { params: { path: { sessionId }, query: { limit: 5 } } });
    expect(jobs.data?.items.map((item) => item.jobId)).toEqual([jobId]);
  });

  it('gets the API’s error body, typed, for a refused call', async () => {
    const api = createClient<paths>({ baseUrl: `${server.url}/api/v1` });
    const { data, error, response } = await api.GET('/sessions');
    expect(data).toBeUndefined();
    expect(response.status).toBe(401);
    expect(error?.error.data.appCode).toBe('UNAUTHENTICATED');
  });
});
