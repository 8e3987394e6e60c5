import { randomBytes, randomUUID } from 'node:crypto';

import { UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ObjectStorage } from '@coach/aws';
import { sql } from '@coach/db';

import { callApi, type Answer } from '../../../test/helpers/faults.ts';
import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';

/**
 * upload.initiate with a clientRequestId, over real HTTP against the real
 * emulator and Postgres: a repeat answers the first call's job, whatever the
 * timing, and never costs a second job, S3 multipart upload or quota slot.
 */

const MIB = 1024 ** 2;
const MULTIPART_SIZE = 13 * MIB;
const sizes = { maxUploadBytes: 100 * MIB, multipartThresholdBytes: 12 * MIB, multipartPartSizeBytes: 8 * MIB };

/** Every multipart upload each server's storage started and aborted, seen at the adapter boundary. */
interface MultipartLedger {
  created: { key: string; uploadId: string }[];
  aborted: Set<string>;
}

function recordMultipart(ledger: MultipartLedger) {
  return (real: ObjectStorage): ObjectStorage => ({
    ...real,
    async createMultipartUpload(params) {
      const uploadId = await real.createMultipartUpload(params);
      ledger.created.push({ key: params.key, uploadId });
      return uploadId;
    },
    async abortMultipartUpload(params) {
      await real.abortMultipartUpload(params);
      ledger.aborted.add(params.uploadId);
    },
  });
}

const plainLedger: MultipartLedger = { created: [], aborted: new Set() };
const limitedLedger: MultipartLedger = { created: [], aborted: new Set() };
/** Limits off: concurrent inserts meet at the unique index. */
let plain: TestServer;
/** Limits on: inserts run under the quota lock. */
let limited: TestServer;

beforeAll(async () => {
  [plain, limited] = await Promise.all([
    startTestServer({ config: sizes, wrapStorage: recordMultipart(plainLedger) }),
    startTestServer({
      config: { ...sizes, maxOpenUploads: 2, initiatesPerMinute: 3 },
      wrapStorage: recordMultipart(limitedLedger),
    }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([plain?.close(), limited?.close()]);
});

interface Initiated {
  jobId: string;
  videoId: string;
  s3Key: string;
  s3Bucket: string;
  uploadMode: 'single' | 'multipart';
  presignedUrl: string | null;
  headers: Record<string, string>;
  multipart: { partSizeBytes: number; partCount: number } | null;
  expiresAt: string;
  uploadExpiresAt: string;
  expiresIn: number;
}

async function sessionOf(server: TestServer, token: string): Promise<string> {
  const created = await callApi(server, token, 'sessions.create', { title: 'Retries', playerIds: [] });
  if (created.kind !== 'ok') throw new Error(`could not create a session: ${JSON.stringify(created)}`);
  return (created.data as { sessionId: string }).sessionId;
}

function initiated(answer: Answer): Initiated {
  if (answer.kind !== 'ok') throw new Error(`initiate failed: ${JSON.stringify(answer)}`);
  return answer.data as Initiated;
}

function expectError(answer: Answer, status: number, appCode: string): string {
  expect(answer).toMatchObject({ kind: 'error', status, appCode });
  return answer.kind === 'error' ? answer.message : '';
}

const jobsWithKey = (server: TestServer, clientRequestId: string) =>
  server.db.selectFrom('videoAnalysisJobs').selectAll().where('clientRequestId', '=', clientRequestId).execute();

async function multipartUploadIsOpen(server: TestServer, key: string, uploadId: string): Promise<boolean> {
  try {
    await server.aws.s3.send(
      new UploadPartCommand({ Bucket: server.bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: new Uint8Array(8) }),
    );
    return true;
  } catch {
    return false;
  }
}

describe('upload.initiate with a clientRequestId', () => {
  it('answers a repeat with the same job and key, its deadline pushed, and a fresh URL that uploads, one row in all', async () => {
    const token = await plain.tokenFor(coachA);
    const sessionId = await sessionOf(plain, token);
    const clientRequestId = randomUUID();
    const bytes = randomBytes(4096);
    const input = {
      sessionId,
      sizeBytes: bytes.byteLength,
      contentType: 'video/mp4',
      sampleFps: 12,
      includeFrames: true,
      clientRequestId,
    };

    const first = initiated(await callApi(plain, token, 'upload.initiate', input));
    const repeat = initiated(await callApi(plain, token, 'upload.initiate', input));
    expect(repeat).toMatchObject({
      jobId: first.jobId,
      videoId: first.videoId,
      s3Key: first.s3Key,
      s3Bucket: first.s3Bucket,
      uploadMode: 'single',
      multipart: null,
    });
    // A repeat is progress: the deadline moves out, never in; the fresh URL expires by it.
    expect(Date.parse(repeat.uploadExpiresAt)).toBeGreaterThanOrEqual(Date.parse(first.uploadExpiresAt));
    expect(Date.parse(repeat.expiresAt)).toBeLessThanOrEqual(Date.parse(repeat.uploadExpiresAt));
    expect(repeat.expiresIn).toBeLessThanOrEqual(first.expiresIn);
    expect(new URL(repeat.presignedUrl ?? '').pathname).toContain(first.s3Key);
    expect(repeat.headers).toEqual(first.headers);

    const rows = await jobsWithKey(plain, clientRequestId);
    expect(rows.map((r) => r.id)).toEqual([first.jobId]);
    expect(rows[0]).toMatchObject({ createdBy: coachA.userId, status: 'awaiting_upload' });

    // The URL of the repeat is as good as the lost one.
    const put = await fetch(repeat.presignedUrl ?? '', { method: 'PUT', headers: repeat.headers, body: bytes });
    expect(put.status).toBe(200);
    const completed = await callApi(plain, token, 'upload.complete', { jobId: first.jobId });
    expect(completed).toMatchObject({ kind: 'ok', data: { status: 'queued' } });
    await plain.drainQueue();
  });

  it('answers a multipart repeat with the same S3 multipart upload and part plan, creating no second one', async () => {
    const token = await plain.tokenFor(coachA);
    const sessionId = await sessionOf(plain, token);
    const input = { sessionId, sizeBytes: MULTIPART_SIZE, clientRequestId: `mp_${randomUUID()}` };
    const createdBefore = plainLedger.created.length;

    const first = initiated(await callApi(plain, token, 'upload.initiate', input));
    const repeat = initiated(await callApi(plain, token, 'upload.initiate', input));
    expect(first).toMatchObject({
      uploadMode: 'multipart',
      presignedUrl: null,
      multipart: { partSizeBytes: 8 * MIB, partCount: 2 },
    });
    expect(repeat).toMatchObject({
      jobId: first.jobId,
      videoId: first.videoId,
      s3Key: first.s3Key,
      uploadMode: 'multipart',
      presignedUrl: null,
      multipart: first.multipart,
    });
    expect(Date.parse(repeat.uploadExpiresAt)).toBeGreaterThanOrEqual(Date.parse(first.uploadExpiresAt));

    const started = plainLedger.created.slice(createdBefore);
    expect(started).toHaveLength(1);
    const rows = await jobsWithKey(plain, input.clientRequestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.multipartUploadId).toBe(started[0]?.uploadId);
    expect(await multipartUploadIsOpen(plain, first.s3Key, started[0]?.uploadId ?? '')).toBe(true);
  });

  it.each([
    ['without limits (the unique index decides)', () => ({ server: plain, ledger: plainLedger })],
    ['under the upload quota lock', () => ({ server: limited, ledger: limitedLedger })],
  ])('10 identical concurrent initiates %s make one job and leave one multipart upload open', async (_, pick) => {
    const { server, ledger } = pick();
    const token = await server.tokenFor(coachB);
    const sessionId = await sessionOf(server, token);
    const input = { sessionId, sizeBytes: MULTIPART_SIZE, clientRequestId: randomUUID() };
    const createdBefore = ledger.created.length;

    const answers = await Promise.all(Array.from({ length: 10 }, () => callApi(server, token, 'upload.initiate', input)));
    const jobIds = new Set(answers.map((a) => initiated(a).jobId));
    expect(jobIds.size).toBe(1);
    const rows = await jobsWithKey(server, input.clientRequestId);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(jobIds.has(row?.id ?? '')).toBe(true);

    // Calls that lost the race after starting their own multipart upload aborted it.
    const started = ledger.created.slice(createdBefore);
    expect(started.length).toBeGreaterThanOrEqual(1);
    for (const upload of started) {
      const isTheJobs = upload.uploadId === row?.multipartUploadId;
      expect(ledger.aborted.has(upload.uploadId)).toBe(!isTheJobs);
      expect(await multipartUploadIsOpen(server, upload.key, upload.uploadId)).toBe(isTheJobs);
    }
    // Cleared for the next test on the limited server: it allows two open uploads.
    await callApi(server, token, 'upload.abort', { jobId: row?.id });
  });

  it('refuses the same id with different inputs with 409 IDEMPOTENCY_KEY_REUSED and writes nothing', async () => {
    const token = await plain.tokenFor(coachA);
    const sessionId = await sessionOf(plain, token);
    const otherSessionId = await sessionOf(plain, token);
    const clientRequestId = randomUUID();
    const input = { sessionId, sizeBytes: 2048, contentType: 'video/mp4', sampleFps: 10, includeFrames: false, clientRequestId };
    const first = initiated(await callApi(plain, token, 'upload.initiate', input));
    const createdBefore = plainLedger.created.length;

    for (const changed of [
      { sizeBytes: 4096 },
      { sizeBytes: MULTIPART_SIZE },
      { sessionId: otherSessionId },
      { contentType: 'video/quicktime' },
      { sampleFps: 15 },
      { includeFrames: true },
      { subjectHint: { x: 0.5, y: 0.5 } },
    ]) {
      const answer = await callApi(plain, token, 'upload.initiate', { ...input, ...changed });
      const message = expectError(answer, 409, 'IDEMPOTENCY_KEY_REUSED');
      expect(message).toContain('clientRequestId');
      expect(message).toMatch(/new clientRequestId/);
    }
    const rows = await jobsWithKey(plain, clientRequestId);
    expect(rows.map((r) => r.id)).toEqual([first.jobId]);
    expect(rows[0]).toMatchObject({ declaredSizeBytes: 2048, status: 'awaiting_upload' });
    const inOtherSession = await plain.db
      .selectFrom('videoAnalysisJobs')
      .select('id')
      .where('sessionId', '=', otherSessionId)
      .execute();
    expect(inOtherSession).toEqual([]);
    expect(plainLedger.created.length).toBe(createdBefore);
  });

  it('refuses a repeat once the upload is completed, cancelled or expired, asking for a new id', async () => {
    const token = await plain.tokenFor(coachA);
    const sessionId = await sessionOf(plain, token);
    const bytes = randomBytes(1024);

    const completedInput = { sessionId, sizeBytes: bytes.byteLength, clientRequestId: randomUUID() };
    const toComplete = initiated(await callApi(plain, token, 'upload.initiate', completedInput));
    await fetch(toComplete.presignedUrl ?? '', { method: 'PUT', headers: toComplete.headers, body: bytes });
    expect(await callApi(plain, token, 'upload.complete', { jobId: toComplete.jobId })).toMatchObject({ kind: 'ok' });
    const closed = expectError(await callApi(plain, token, 'upload.initiate', completedInput), 412, 'UPLOAD_CLOSED');
    expect(closed).toMatch(/already queued.*new clientRequestId/);
    await plain.drainQueue();

    const abortedInput = { sessionId, sizeBytes: bytes.byteLength, clientRequestId: randomUUID() };
    const toAbort = initiated(await callApi(plain, token, 'upload.initiate', abortedInput));
    expect(await callApi(plain, token, 'upload.abort', { jobId: toAbort.jobId })).toMatchObject({ kind: 'ok' });
    expect(expectError(await callApi(plain, token, 'upload.initiate', abortedInput), 412, 'UPLOAD_ABORTED')).toMatch(
      /new clientRequestId/,
    );

    const expiredInput = { sessionId, sizeBytes: bytes.byteLength, clientRequestId: randomUUID() };
    const toExpire = initiated(await callApi(plain, token, 'upload.initiate', expiredInput));
    // Past its deadline but not yet swept: still awaiting_upload in the table.
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '1 minute' where id = ${toExpire.jobId}`.execute(
      plain.db,
    );
    expect(expectError(await callApi(plain, token, 'upload.initiate', expiredInput), 412, 'UPLOAD_EXPIRED')).toMatch(
      /new clientRequestId/,
    );
    await sql`update video_analysis_jobs set status = 'expired' where id = ${toExpire.jobId}`.execute(plain.db);
    expectError(await callApi(plain, token, 'upload.initiate', expiredInput), 412, 'UPLOAD_EXPIRED');

    for (const { clientRequestId } of [completedInput, abortedInput, expiredInput]) {
      expect(await jobsWithKey(plain, clientRequestId)).toHaveLength(1);
    }
  });

  it('answers a repeat at the open-uploads cap and over the rate limit, without counting it', async () => {
    const token = await limited.tokenFor(coachA);
    const sessionId = await sessionOf(limited, token);
    const first = { sessionId, sizeBytes: 1024, clientRequestId: randomUUID() };
    const a = initiated(await callApi(limited, token, 'upload.initiate', first));
    const b = initiated(
      await callApi(limited, token, 'upload.initiate', { sessionId, sizeBytes: 1024, clientRequestId: randomUUID() }),
    );
    // Two open uploads: the cap.
    expectError(
      await callApi(limited, token, 'upload.initiate', { sessionId, sizeBytes: 1024, clientRequestId: randomUUID() }),
      429,
      'TOO_MANY_OPEN_UPLOADS',
    );

    // Five repeats, more than the 3 a minute allowed: each answers the first job.
    for (let i = 0; i < 5; i++) {
      expect(initiated(await callApi(limited, token, 'upload.initiate', first)).jobId).toBe(a.jobId);
    }
    // Had the repeats counted, the rate limit would refuse this one.
    await callApi(limited, token, 'upload.abort', { jobId: b.jobId });
    const c = await callApi(limited, token, 'upload.initiate', { sessionId, sizeBytes: 1024, clientRequestId: randomUUID() });
    expect(c).toMatchObject({ kind: 'ok' });
    const mine = await limited.db.selectFrom('videoAnalysisJobs').select('id').where('createdBy', '=', coachA.userId).execute();
    expect(mine).toHaveLength(3);
  });

  it("keeps ids per user: another user's same id starts their own job and never reaches the first user's", async () => {
    const tokenA = await plain.tokenFor(coachA);
    const tokenB = await plain.tokenFor(coachB);
    const sessionA = await sessionOf(plain, tokenA);
    const sessionB = await sessionOf(plain, tokenB);
    const clientRequestId = randomUUID();

    const ofA = initiated(
      await callApi(plain, tokenA, 'upload.initiate', { sessionId: sessionA, sizeBytes: 1024, clientRequestId }),
    );
    // Coach B with coach A's inputs: A's session is not B's to find, and A's job is not revealed.
    const foreign = await callApi(plain, tokenB, 'upload.initiate', { sessionId: sessionA, sizeBytes: 1024, clientRequestId });
    expectError(foreign, 404, 'SESSION_NOT_FOUND');
    expect(JSON.stringify(foreign)).not.toContain(ofA.jobId);

    const ofB = initiated(
      await callApi(plain, tokenB, 'upload.initiate', { sessionId: sessionB, sizeBytes: 1024, clientRequestId }),
    );
    expect(ofB.jobId).not.toBe(ofA.jobId);
    expect(ofB.s3Key).not.toBe(ofA.s3Key);
    const rows = await jobsWithKey(plain, clientRequestId);
    const byUser = (a: string[], b: string[]) => String(a[0]).localeCompare(String(b[0]));
    expect(rows.map((r) => [r.createdBy, r.id]).sort(byUser)).toEqual(
      [
        [coachA.userId, ofA.jobId],
        [coachB.userId, ofB.jobId],
      ].sort(byUser),
    );
  });

  it('refuses a malformed clientRequestId as INVALID_INPUT', async () => {
    const token = await plain.tokenFor(coachA);
    const sessionId = await sessionOf(plain, token);
    for (const clientRequestId of ['short', 'x'.repeat(129), 'has space in it', 'dots.are.out', 12345678]) {
      const answer = await callApi(plain, token, 'upload.initiate', { sessionId, sizeBytes: 1000, clientRequestId });
      expect(expectError(answer, 400, 'INVALID_INPUT')).toContain('clientRequestId');
    }
    const rows = await plain.db.selectFrom('videoAnalysisJobs').select('id').where('sessionId', '=', sessionId).execute();
    expect(rows).toEqual([]);
  });
});
