import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { silentLogger } from '@coach/api';
import {
  findJob,
  insertJobForOwnedSession,
  readOwnerUsage,
  releaseStoredUpload,
  setOwnerQuota,
  sql,
  type Owner,
} from '@coach/db';
import { completeStoredUpload } from '@coach/jobs';
import { sweepOnce } from '@coach/worker';

import { coachA, coachB, orgUserX1, orgUserX2, type Identity } from '../../../test/helpers/identities.ts';
import { letTimePassForJob, newJobParams } from '../../../test/helpers/job-rows.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

const QUOTA = 10_000;
const GRACE_SECONDS = 3600;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { storageQuotaBytes: QUOTA } });
});
afterAll(() => server.close());

const ownerOf = (identity: Identity): Owner =>
  identity.role === 'coach_pro_plus' ? { type: 'coach', id: identity.userId } : { type: 'org', id: identity.orgId ?? '' };

const usageOf = (identity: Identity) => readOwnerUsage(server.db, { owner: ownerOf(identity), defaultQuotaBytes: QUOTA });

async function initiate(token: string, sessionId: string, sizeBytes: number) {
  const response = await fetch(`${server.trpcUrl}/upload.initiate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sessionId, sizeBytes }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Answer };
}

interface Answer {
  result?: { data: { jobId: string; presignedUrl: string | null; uploadMode: string; headers: Record<string, string> } };
  error?: { message: string; data: { appCode: string; httpStatus: number } };
}

async function newSession(identity: Identity) {
  const { sessionId } = await server.clientFor(identity).sessions.create.mutate({ title: 'Quota', playerIds: [] });
  return sessionId;
}

const letTimePass = (jobId: string, seconds: number) => letTimePassForJob(server.db, jobId, seconds);

const sweep = () =>
  sweepOnce(
    sweeperOptionsFor(server, {
      uploadGraceSeconds: GRACE_SECONDS,
      abandonedGraceSeconds: 60,
      staleQueuedSeconds: 3600,
      maxAttempts: 5,
    }),
  );

describe('storage quota at upload.initiate', () => {
  it('never reserves past the quota under 20 concurrent initiates: exactly the ones that fit are accepted', async () => {
    const sessionId = await newSession(orgUserX1);
    const tokens = [await server.tokenFor(orgUserX1), await server.tokenFor(orgUserX2)];
    // 2,500 bytes already held: 7,500 left, room for exactly seven uploads of 1,000 bytes.
    expect((await initiate(tokens[0] ?? '', sessionId, 2_500)).status).toBe(200);

    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => initiate(tokens[i % 2] ?? '', sessionId, 1_000)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(7);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(13);
    expect(refused.every((a) => a.status === 403 && a.body.error?.data.appCode === 'QUOTA_EXCEEDED')).toBe(true);

    const { rows } = await sql<{ count: number; declared: number }>`
      select count(*)::int as count, sum(declared_size_bytes)::int as declared
      from video_analysis_jobs where owner_type = 'org' and owner_id = ${orgUserX1.orgId} and status = 'awaiting_upload'`.execute(
      server.db,
    );
    expect(rows[0]).toEqual({ count: 8, declared: 9_500 });
    expect(await usageOf(orgUserX1)).toEqual({ usedBytes: 0, reservedBytes: 9_500, openUploads: 8, quotaBytes: QUOTA });
  });

  it('answers QUOTA_EXCEEDED over HTTP with 403, what is left in human units and what to do, and writes nothing', async () => {
    const sessionId = await newSession(coachB);
    const token = await server.tokenFor(coachB);
    expect((await initiate(token, sessionId, 9_500)).status).toBe(200);

    const refused = await initiate(token, sessionId, 2_048);
    expect(refused.status).toBe(403);
    expect(refused.retryAfter).toBeNull();
    expect(refused.body.error?.data).toMatchObject({ appCode: 'QUOTA_EXCEEDED', httpStatus: 403 });
    expect(refused.body.error?.message).toBe(
      'This video needs 2 KiB but only 500 bytes of your 9.77 KiB storage is left (9.28 KiB of it held by unfinished uploads). ' +
        'Cancel unfinished uploads you no longer need (upload.abort), delete videos you no longer need, or ask for a larger quota.',
    );
    const jobs = await server.db.selectFrom('videoAnalysisJobs').select('id').where('createdBy', '=', coachB.userId).execute();
    expect(jobs).toHaveLength(1);

    // usage.get shows the same figures to the caller.
    expect(await server.clientFor(coachB).usage.get.query()).toEqual({
      usedBytes: 0,
      reservedBytes: 9_500,
      quotaBytes: QUOTA,
      availableBytes: 500,
      openUploads: 1,
      maxOpenUploads: null,
    });
  });

  it('holds MAX_UPLOAD_BYTES for a first-version initiate that declares no size, so leaving the size out is no way past the quota', async () => {
    const identity = { ...coachA, userId: 'coach-unsized' };
    const sessionId = await newSession(identity);
    const token = await server.tokenFor(identity);
    const firstVersionInitiate = (body: object) =>
      fetch(`${server.url}/api/coaches/plus/videos/upload/initiate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ session_id: sessionId, ...body }),
      });
    // The quota (10,000 bytes) is far below MAX_UPLOAD_BYTES: an unsized upload could store that much.
    const unsized = await firstVersionInitiate({});
    expect(unsized.status).toBe(403);
    expect(await unsized.json()).toMatchObject({ app_code: 'QUOTA_EXCEEDED' });
    expect(await usageOf(identity)).toMatchObject({ reservedBytes: 0, openUploads: 0 });
    // Declaring the size reserves just that.
    expect((await firstVersionInitiate({ size_bytes: 4_000 })).status).toBe(200);
    expect(await usageOf(identity)).toMatchObject({ reservedBytes: 4_000, openUploads: 1 });

    // Above S3's 5 GiB single PUT (the production default is 8 GiB): an unsized PUT can store no more than 5 GiB.
    const roomy = await startTestServer({ config: { storageQuotaBytes: 0, maxUploadBytes: 8 * 1024 ** 3 } });
    try {
      const owner = { type: 'coach' as const, id: 'coach-unsized-roomy' };
      const roomyIdentity = { ...coachA, userId: owner.id };
      const { sessionId: roomySession } = await roomy
        .clientFor(roomyIdentity)
        .sessions.create.mutate({ title: 'Q', playerIds: [] });
      const answer = await fetch(`${roomy.url}/api/coaches/plus/videos/upload/initiate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await roomy.tokenFor(roomyIdentity)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ session_id: roomySession }),
      });
      expect(answer.status).toBe(200);
      const usage = await readOwnerUsage(roomy.db, { owner, defaultQuotaBytes: 0 });
      expect(usage).toMatchObject({ reservedBytes: 5 * 1024 ** 3, openUploads: 1 });
      const { job_id: jobId } = (await answer.json()) as { job_id: string };
      await roomy.clientFor(roomyIdentity).upload.abort.mutate({ jobId });
      expect(await readOwnerUsage(roomy.db, { owner, defaultQuotaBytes: 0 })).toMatchObject({ reservedBytes: 0, openUploads: 0 });
    } finally {
      await roomy.close();
    }
  });

  it("applies an owner's own quota instead of the default", async () => {
    const identity = { ...coachA, userId: 'coach-big-quota' };
    const sessionId = await newSession(identity);
    const token = await server.tokenFor(identity);
    await setOwnerQuota(server.db, { owner: ownerOf(identity), quotaBytes: 50_000 });
    expect((await initiate(token, sessionId, 40_000)).status).toBe(200);
    expect((await initiate(token, sessionId, 10_001)).status).toBe(403);
    expect(await server.clientFor(identity).usage.get.query()).toMatchObject({ quotaBytes: 50_000, availableBytes: 10_000 });
  });

  it('keeps owners apart: one coach filling the quota leaves another untouched', async () => {
    const full = { ...coachA, userId: 'coach-full' };
    const other = { ...coachA, userId: 'coach-empty' };
    await server.clientFor(full).upload.initiate.mutate({ sessionId: await newSession(full), sizeBytes: QUOTA });
    await expect(
      server.clientFor(other).upload.initiate.mutate({ sessionId: await newSession(other), sizeBytes: QUOTA }),
    ).resolves.toMatchObject({ status: 'awaiting_upload' });
  });
});

describe('reserved bytes are given back when an upload closes', () => {
  it('aborted: the reservation and the open slot are released', async () => {
    const identity = { ...coachA, userId: 'coach-abort' };
    const sessionId = await newSession(identity);
    const client = server.clientFor(identity);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 6_000 });
    expect(await usageOf(identity)).toMatchObject({ reservedBytes: 6_000, openUploads: 1 });
    await client.upload.abort.mutate({ jobId: upload.jobId });
    expect(await usageOf(identity)).toEqual({ usedBytes: 0, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });
    // And the freed room is usable at once.
    await expect(client.upload.initiate.mutate({ sessionId, sizeBytes: QUOTA })).resolves.toMatchObject({
      status: 'awaiting_upload',
    });
  });

  it('rejected: an object that fails the checks releases the reservation and adds nothing to what is used', async () => {
    const identity = { ...coachA, userId: 'coach-reject' };
    const sessionId = await newSession(identity);
    const client = server.clientFor(identity);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 6_000 });
    // Stored behind the signed URL's back (a signed PUT cannot store another size): 10 bytes, not 6,000.
    await server.storage.putObject(upload.s3Key, new Uint8Array(10), 'video/mp4');
    await expect(client.upload.complete.mutate({ jobId: upload.jobId })).rejects.toMatchObject({
      data: { appCode: 'UPLOAD_REJECTED' },
    });
    expect(await findJob(server.db, { jobId: upload.jobId })).toMatchObject({ status: 'rejected' });
    expect(await usageOf(identity)).toEqual({ usedBytes: 0, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });
  });

  it('expired by the sweeper: released once the upload is idle past its window and grace', async () => {
    const identity = { ...coachA, userId: 'coach-expire' };
    const sessionId = await newSession(identity);
    const upload = await server.clientFor(identity).upload.initiate.mutate({ sessionId, sizeBytes: 7_000 });
    await letTimePass(upload.jobId, server.config.uploadIdleWindowSeconds);
    expect(await sweep()).toMatchObject({ expired: 0 });
    expect(await usageOf(identity)).toMatchObject({ reservedBytes: 7_000, openUploads: 1 });
    await letTimePass(upload.jobId, GRACE_SECONDS + 60);
    expect(await sweep()).toMatchObject({ expired: 1 });
    expect(await findJob(server.db, { jobId: upload.jobId })).toMatchObject({ status: 'expired' });
    expect(await usageOf(identity)).toEqual({ usedBytes: 0, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });
  });

  it('completed: the reservation becomes the stored size, and a later release for deletion gives it back once', async () => {
    const identity = { ...coachA, userId: 'coach-complete' };
    const sessionId = await newSession(identity);
    const client = server.clientFor(identity);
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 4_000 });
    const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(4_000) });
    expect(put.status).toBe(200);
    await expect(client.upload.complete.mutate({ jobId: upload.jobId })).resolves.toMatchObject({ status: 'queued' });
    expect(await usageOf(identity)).toEqual({ usedBytes: 4_000, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });

    await expect(releaseStoredUpload(server.db, { jobId: upload.jobId })).resolves.toBe(true);
    await expect(releaseStoredUpload(server.db, { jobId: upload.jobId })).resolves.toBe(false);
    expect(await usageOf(identity)).toEqual({ usedBytes: 0, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });
  });

  it('deleted: jobs.delete gives back a stored video once, sessions.delete an unfinished upload and a stored one', async () => {
    const identity = { ...coachA, userId: 'coach-delete' };
    const sessionId = await newSession(identity);
    const client = server.clientFor(identity);
    const stored = await client.upload.initiate.mutate({ sessionId, sizeBytes: 3_000 });
    const put = await fetch(putUrl(stored), { method: 'PUT', headers: stored.headers, body: new Uint8Array(3_000) });
    expect(put.status).toBe(200);
    await client.upload.complete.mutate({ jobId: stored.jobId });
    await client.upload.initiate.mutate({ sessionId, sizeBytes: 2_000 });
    expect(await usageOf(identity)).toMatchObject({ usedBytes: 3_000, reservedBytes: 2_000, openUploads: 1 });

    await client.jobs.delete.mutate({ jobId: stored.jobId });
    expect(await usageOf(identity)).toMatchObject({ usedBytes: 0, reservedBytes: 2_000, openUploads: 1 });
    await expect(releaseStoredUpload(server.db, { jobId: stored.jobId })).resolves.toBe(false);

    const second = await client.upload.initiate.mutate({ sessionId, sizeBytes: 1_000 });
    await fetch(putUrl(second), { method: 'PUT', headers: second.headers, body: new Uint8Array(1_000) });
    await client.upload.complete.mutate({ jobId: second.jobId });
    expect(await usageOf(identity)).toMatchObject({ usedBytes: 1_000, reservedBytes: 2_000, openUploads: 1 });
    await client.sessions.delete.mutate({ sessionId });
    expect(await usageOf(identity)).toEqual({ usedBytes: 0, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });
  });

  it('counts what storage holds, not what was declared, when completeStoredUpload queues a job', async () => {
    // A job from before sizes were required (declared size unknown, nothing reserved): only the HEAD knows its size.
    const identity = { ...coachA, userId: 'coach-legacy' };
    const owner = ownerOf(identity);
    const sessionId = await newSession(identity);
    const params = { ...newJobParams(sessionId, owner), s3Bucket: server.bucket, declaredSizeBytes: null };
    await insertJobForOwnedSession(server.db, params);
    // Counted as the migration's backfill counts an open upload of unknown size.
    await sql`update owner_usage set open_uploads = 1 where owner_type = ${owner.type} and owner_id = ${owner.id}`.execute(
      server.db,
    );
    await server.storage.putObject(params.s3Key, new Uint8Array(3_333), 'video/mp4');
    const job = await findJob(server.db, { jobId: params.id });
    if (!job) throw new Error('job not inserted');

    const outcome = await completeStoredUpload(
      {
        db: server.db,
        storage: server.storage,
        outbox: server.outbox,
        logger: silentLogger,
        maxUploadBytes: 10_000,
        now: () => new Date(),
        completedBy: { kind: 'system', id: 'sweeper' },
      },
      job,
    );
    expect(outcome.kind).toBe('queued');
    expect(await usageOf(identity)).toEqual({ usedBytes: 3_333, reservedBytes: 0, openUploads: 0, quotaBytes: QUOTA });
  });
});
