/**
 * The sliding upload deadline over real HTTP, real Postgres and the emulator.
 * Time is moved by shifting the job's own times into the past (its deadline
 * and `created_at`), as sweeper.test.ts does: the sweeper and the deadline
 * query judge them on the database's clock, and the API compares them with
 * its own, so both see the same hours pass without anyone sleeping.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { errorCodeOf, type ApiClient } from '@coach/client';
import { findJob, sql } from '@coach/db';
import { sweepOnce } from '@coach/worker';

import { coachA } from '../../../test/helpers/identities.ts';
import { letTimePassForJob } from '../../../test/helpers/job-rows.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { partUploadOutcome } from '../../../test/helpers/upload.ts';

const MIB = 1024 ** 2;
const IDLE_WINDOW_SECONDS = 3600;
const MAX_LIFETIME_SECONDS = 7 * 24 * 3600;
const GRACE_SECONDS = 60;
let server: TestServer;
let client: ApiClient;
let sessionId: string;

beforeAll(async () => {
  server = await startTestServer({
    config: {
      maxUploadBytes: 100 * MIB,
      multipartThresholdBytes: 5 * MIB,
      multipartPartSizeBytes: 5 * MIB,
      uploadIdleWindowSeconds: IDLE_WINDOW_SECONDS,
      uploadMaxLifetimeSeconds: MAX_LIFETIME_SECONDS,
    },
  });
  client = server.clientFor(coachA);
  ({ sessionId } = await client.sessions.create.mutate({ title: 'Nets, 4G', playerIds: [] }));
});
afterAll(() => server.close());
beforeEach(async () => {
  await server.drainQueue();
});

const letTimePass = (jobId: string, minutes: number) => letTimePassForJob(server.db, jobId, minutes * 60);

const sweep = () =>
  sweepOnce(
    sweeperOptionsFor(server, {
      uploadGraceSeconds: GRACE_SECONDS,
      abandonedGraceSeconds: 60,
      staleQueuedSeconds: 3600,
      maxAttempts: 5,
    }),
  );

/** Seconds from the database's now to the job's deadline. */
async function secondsLeft(jobId: string): Promise<number> {
  const { rows } = await sql<{ left: number }>`
    select extract(epoch from upload_expires_at - now())::float8 as left from video_analysis_jobs where id = ${jobId}`.execute(
    server.db,
  );
  return rows[0]?.left ?? Number.NaN;
}

async function putPart(jobId: string, bytes: Uint8Array, partNumber: number) {
  const signed = await client.upload.signParts.mutate({ jobId, partNumbers: [partNumber] });
  const part = signed.parts[0];
  if (!part) throw new Error('no part signed');
  const start = (partNumber - 1) * 5 * MIB;
  const response = await fetch(part.url, { method: 'PUT', body: bytes.subarray(start, start + part.sizeBytes) });
  expect(response.status).toBe(200);
  return { signed, etag: response.headers.get('etag') ?? '' };
}

describe('the sliding upload deadline', () => {
  it('keeps a multipart upload still sending parts 3 h after initiate open; it completes with exactly one message', async () => {
    const bytes = randomBytes(4 * 5 * MIB);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.byteLength });
    expect(upload.multipart).toEqual({ partSizeBytes: 5 * MIB, partCount: 4 });

    // One part every 50 minutes over a slow uplink: 200 minutes in all, each gap inside the idle window.
    for (const partNumber of [1, 2, 3, 4]) {
      await letTimePass(upload.jobId, 50);
      expect(await sweep()).toMatchObject({ expired: 0 });
      const { signed, etag } = await putPart(upload.jobId, bytes, partNumber);
      // Signing pushed the deadline a full idle window out, and says so.
      expect(await secondsLeft(upload.jobId)).toBeGreaterThan(IDLE_WINDOW_SECONDS - 60);
      expect(Date.parse(signed.uploadExpiresAt)).toBeGreaterThan(Date.parse(signed.expiresAt));
      const progress = await client.upload.recordParts.mutate({ jobId: upload.jobId, parts: [{ partNumber, etag }] });
      const view = await client.jobs.get.query({ jobId: upload.jobId });
      expect(view).toMatchObject({ status: 'awaiting_upload', uploadExpiresAt: progress.uploadExpiresAt });
    }
    await letTimePass(upload.jobId, 50);
    expect(await sweep()).toMatchObject({ expired: 0 });

    const done = await client.upload.complete.mutate({ jobId: upload.jobId });
    expect(done).toMatchObject({ status: 'queued' });
    const messages = await server.drainQueue();
    expect(messages.filter((m) => m.Body?.includes(upload.jobId))).toHaveLength(1);
    expect(messages[0]?.MessageId).toBe(done.sqsMessageId);
    expect(await server.storage.head(upload.s3Key)).toMatchObject({ sizeBytes: bytes.byteLength });
  });

  it('expires an upload idle for longer than its window and aborts its parts', async () => {
    const bytes = randomBytes(2 * 5 * MIB);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.byteLength });
    const { etag } = await putPart(upload.jobId, bytes, 1);
    await client.upload.recordParts.mutate({ jobId: upload.jobId, parts: [{ partNumber: 1, etag }] });
    const uploadId = (await findJob(server.db, { jobId: upload.jobId }))?.multipartUploadId ?? '';

    // Just inside the window plus the grace: nothing happens yet.
    await letTimePass(upload.jobId, IDLE_WINDOW_SECONDS / 60);
    expect(await sweep()).toMatchObject({ expired: 0 });
    // Past it: expired, whatever was sent before.
    await letTimePass(upload.jobId, GRACE_SECONDS / 60 + 1);
    expect(await sweep()).toMatchObject({ expired: 1 });
    expect(await findJob(server.db, { jobId: upload.jobId })).toMatchObject({ status: 'expired', errorCode: 'UPLOAD_EXPIRED' });
    expect(await partUploadOutcome(server, { key: upload.s3Key, uploadId, partNumber: 2 })).toBe('NoSuchUpload');
  });

  it('never revives a passed deadline: signing is refused, listing still answers, and the sweeper expires it', async () => {
    const bytes = randomBytes(2 * 5 * MIB);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.byteLength });
    await letTimePass(upload.jobId, IDLE_WINDOW_SECONDS / 60 + 0.5);

    const refused = await client.upload.signParts.mutate({ jobId: upload.jobId, partNumbers: [1] }).catch((e: unknown) => e);
    expect(errorCodeOf(refused)).toBe('UPLOAD_EXPIRED');
    const progress = await client.upload.listParts.query({ jobId: upload.jobId });
    expect(Date.parse(progress.uploadExpiresAt)).toBeLessThan(Date.now());
    expect(await secondsLeft(upload.jobId)).toBeLessThan(0);

    await letTimePass(upload.jobId, GRACE_SECONDS / 60);
    expect(await sweep()).toMatchObject({ expired: 1 });
  });

  it('stops pushing at the maximum lifetime, counted from initiate', async () => {
    const bytes = randomBytes(2 * 5 * MIB);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: bytes.byteLength });
    // The last progress was 55 minutes ago, and the upload began ten minutes short of seven days ago.
    await letTimePass(upload.jobId, 55);
    await sql`update video_analysis_jobs
      set created_at = now() - make_interval(secs => ${MAX_LIFETIME_SECONDS - 600})
      where id = ${upload.jobId}`.execute(server.db);
    await client.upload.listParts.query({ jobId: upload.jobId });
    const left = await secondsLeft(upload.jobId);
    expect(left).toBeGreaterThan(500);
    expect(left).toBeLessThanOrEqual(600);
  });

  it('pushes a single PUT on a repeated initiate and re-signs its URL for no longer than the deadline', async () => {
    const clientRequestId = randomUUID();
    const input = { sessionId, sizeBytes: 1024, clientRequestId };
    const first = await client.upload.initiate.mutate(input);
    expect(first.uploadMode).toBe('single');
    await letTimePass(first.jobId, 50);
    expect(await secondsLeft(first.jobId)).toBeLessThan(11 * 60);

    const repeat = await client.upload.initiate.mutate(input);
    expect(repeat.jobId).toBe(first.jobId);
    expect(await secondsLeft(first.jobId)).toBeGreaterThan(IDLE_WINDOW_SECONDS - 60);
    expect(repeat.uploadExpiresAt).toBe((await client.jobs.get.query({ jobId: first.jobId })).uploadExpiresAt);
    expect(Date.parse(repeat.expiresAt)).toBeLessThanOrEqual(Date.parse(repeat.uploadExpiresAt));
    expect(Number(new URL(repeat.presignedUrl ?? '').searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(
      server.config.uploadUrlExpiresSeconds,
    );
    expect(new URL(repeat.presignedUrl ?? '').searchParams.get('X-Amz-SignedHeaders')).toContain('content-length');
  });
});
