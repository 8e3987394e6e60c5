import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { planParts } from '@coach/api';
import { errorCodeOf, type ApiClient } from '@coach/client';
import { findJob, sql } from '@coach/db';
import { sweepOnce } from '@coach/worker';

import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { partUploadOutcome } from '../../../test/helpers/upload.ts';

const MIB = 1024 ** 2;
let server: TestServer;
let client: ApiClient;
let sessionId: string;

beforeAll(async () => {
  server = await startTestServer({
    config: { maxUploadBytes: 100 * MIB, multipartThresholdBytes: 12 * MIB, multipartPartSizeBytes: 8 * MIB },
  });
  client = server.clientFor(coachA);
  ({ sessionId } = await client.sessions.create.mutate({ title: 'Match', playerIds: [] }));
});
afterAll(() => server.close());

async function startMultipart(bytes: Uint8Array) {
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.byteLength });
  expect(upload.uploadMode).toBe('multipart');
  return upload;
}

/** PUTs the given parts to freshly signed URLs; returns their ETags. */
async function putParts(jobId: string, bytes: Uint8Array, partSize: number, partNumbers: number[]) {
  const { parts } = await client.upload.signParts.mutate({ jobId, partNumbers });
  return Promise.all(
    parts.map(async ({ partNumber, url, sizeBytes }) => {
      const body = bytes.subarray((partNumber - 1) * partSize, (partNumber - 1) * partSize + sizeBytes);
      const response = await fetch(url, { method: 'PUT', body });
      expect(response.status).toBe(200);
      return { partNumber, etag: response.headers.get('etag') ?? '' };
    }),
  );
}

describe('planParts', () => {
  it.each([
    [23 * MIB, 8 * MIB, 8 * MIB, 3],
    [4 * 1024 * MIB, 16 * MIB, 16 * MIB, 256],
    [5 * 1024 * 1024 * MIB, 16 * MIB, 525 * MIB, 9987],
  ])('plans %d bytes (preferred part %d) as parts of %d, %d of them, within S3 rules', (size, preferred, partSize, count) => {
    const plan = planParts(size, preferred);
    expect(plan).toEqual({ partSizeBytes: partSize, partCount: count });
    expect(plan.partCount).toBeLessThanOrEqual(10_000);
    expect(plan.partSizeBytes).toBeGreaterThanOrEqual(5 * MIB);
    expect(plan.partSizeBytes * plan.partCount).toBeGreaterThanOrEqual(size);
    expect(plan.partSizeBytes * (plan.partCount - 1)).toBeLessThan(size);
  });
});

describe('multipart uploads against the emulator', () => {
  it('uploads parts in parallel, resumes from the server record, completes, verifies and queues once', async () => {
    const bytes = randomBytes(23 * MIB);
    const upload = await startMultipart(bytes);
    expect(upload).toMatchObject({ presignedUrl: null, multipart: { partSizeBytes: 8 * MIB, partCount: 3 } });

    // First device: parts 1 and 3, then it goes away.
    await client.upload.recordParts.mutate({ jobId: upload.jobId, parts: await putParts(upload.jobId, bytes, 8 * MIB, [1, 3]) });
    // Another device of the same owner resumes from the server's record.
    const progress = await server.clientFor(coachA).upload.listParts.query({ jobId: upload.jobId });
    expect(progress).toMatchObject({ partCount: 3, missingPartNumbers: [2], sizeBytes: bytes.byteLength });
    const missing = await putParts(upload.jobId, bytes, 8 * MIB, progress.missingPartNumbers);

    const answers = await Promise.all(
      [1, 2, 3].map(() => client.upload.complete.mutate({ jobId: upload.jobId, parts: missing })),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ status: 'queued' });
    expect(await server.storage.head(upload.s3Key)).toMatchObject({ sizeBytes: bytes.byteLength, contentType: 'video/mp4' });
    const stored = Buffer.from(await new Response(await server.storage.getStream(upload.s3Key)).arrayBuffer());
    expect(stored.equals(bytes)).toBe(true);
    const messages = await server.drainQueue();
    expect(messages.map((m) => (JSON.parse(m.Body ?? '{}') as { job_id: string }).job_id)).toEqual([upload.jobId]);
  });

  it('refuses to complete while parts are missing, naming them, and changes nothing', async () => {
    const bytes = randomBytes(17 * MIB);
    const upload = await startMultipart(bytes);
    await client.upload.recordParts.mutate({ jobId: upload.jobId, parts: await putParts(upload.jobId, bytes, 8 * MIB, [1]) });
    const error = await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_INCOMPLETE');
    expect((error as Error).message).toContain('Parts 2, 3');
    expect((await findJob(server.db, { jobId: upload.jobId }))?.status).toBe('awaiting_upload');
  });

  it('catches a corrupted part at completion, and completes once it is sent again', async () => {
    const bytes = randomBytes(13 * MIB);
    const upload = await startMultipart(bytes);
    const parts = await putParts(upload.jobId, bytes, 8 * MIB, [1, 2]);
    const wrong = { partNumber: 2, etag: `"${'0'.repeat(32)}"` };
    const error = await client.upload.complete
      .mutate({ jobId: upload.jobId, parts: [parts[0] ?? wrong, wrong] })
      .catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe('UPLOAD_PARTS_INVALID');
    expect((await findJob(server.db, { jobId: upload.jobId }))?.status).toBe('awaiting_upload');
    // S3 does not say which part it refused: the record is cleared, so a resume re-sends them all.
    const { missingPartNumbers } = await client.upload.listParts.query({ jobId: upload.jobId });
    expect(missingPartNumbers).toEqual([1, 2]);
    const again = await putParts(upload.jobId, bytes, 8 * MIB, missingPartNumbers);
    await expect(client.upload.complete.mutate({ jobId: upload.jobId, parts: again })).resolves.toMatchObject({
      status: 'queued',
    });
    await server.drainQueue();
  });

  it('abort discards the multipart upload and closes the job', async () => {
    const bytes = randomBytes(13 * MIB);
    const upload = await startMultipart(bytes);
    await putParts(upload.jobId, bytes, 8 * MIB, [1]);
    const uploadId = (await findJob(server.db, { jobId: upload.jobId }))?.multipartUploadId ?? '';
    await expect(client.upload.abort.mutate({ jobId: upload.jobId })).resolves.toEqual({
      jobId: upload.jobId,
      status: 'aborted',
    });
    await expect(client.upload.abort.mutate({ jobId: upload.jobId })).resolves.toMatchObject({ status: 'aborted' });

    expect(await partUploadOutcome(server, { key: upload.s3Key, uploadId, partNumber: 2 })).toBe('NoSuchUpload');
    expect(errorCodeOf(await client.upload.complete.mutate({ jobId: upload.jobId }).catch((e: unknown) => e))).toBe(
      'UPLOAD_ABORTED',
    );
    expect(
      errorCodeOf(await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1] }).catch((e: unknown) => e)),
    ).toBe('UPLOAD_CLOSED');
  });

  it("signs parts only for the caller's own multipart job, within its plan", async () => {
    const upload = await startMultipart(randomBytes(13 * MIB));
    const foreign = await server
      .clientFor(coachB)
      .upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1] })
      .catch((e: unknown) => e);
    expect(errorCodeOf(foreign)).toBe('JOB_NOT_FOUND');
    const outside = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [3] }).catch((e: unknown) => e);
    expect(errorCodeOf(outside)).toBe('INVALID_PART_NUMBER');
    const single = await client.upload.initiate.mutate({ sessionId, sizeBytes: 1024 });
    const notMultipart = await client.upload.signParts.mutate({ jobId: single.jobId, partNumbers: [1] }).catch((e: unknown) => e);
    expect(errorCodeOf(notMultipart)).toBe('NOT_MULTIPART');
    // Each part URL binds its own exact length; the last part is the remainder.
    const { parts } = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1, 2] });
    expect(parts.map((p) => p.sizeBytes)).toEqual([8 * MIB, 5 * MIB]);
    for (const part of parts) expect(new URL(part.url).searchParams.get('X-Amz-SignedHeaders')).toContain('content-length');
  });

  it('the sweeper aborts the multipart upload of an expired job', async () => {
    const bytes = randomBytes(13 * MIB);
    const upload = await startMultipart(bytes);
    await putParts(upload.jobId, bytes, 8 * MIB, [1]);
    const uploadId = (await findJob(server.db, { jobId: upload.jobId }))?.multipartUploadId ?? '';
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 hours' where id = ${upload.jobId}`.execute(
      server.db,
    );
    await sweepOnce(sweeperOptionsFor(server, { abandonedGraceSeconds: 60, staleQueuedSeconds: 3600, maxAttempts: 5 }));
    expect((await findJob(server.db, { jobId: upload.jobId }))?.status).toBe('expired');
    expect(await partUploadOutcome(server, { key: upload.s3Key, uploadId, partNumber: 2 })).toBe('NoSuchUpload');
  });
});
