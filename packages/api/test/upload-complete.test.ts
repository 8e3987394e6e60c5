import { describe, expect, it } from 'vitest';

import type { Identity, RouterInputs } from '@coach/api';
import { sql } from '@coach/db';
import { AnalysisJobMessageSchema } from '@coach/jobs';

import { testConfig, useCallerTests } from '../../../test/helpers/api.ts';
import {
  anonymous,
  coachA,
  coachB,
  coachNamedLikeOrg,
  coachWithoutUpload,
  freeUser,
  orgUserX1,
  orgUserX2,
  orgUserY,
  signedIn,
} from '../../../test/helpers/identities.ts';

const t = useCallerTests();

type InitiateInput = RouterInputs['upload']['initiate'];
type CompleteInput = RouterInputs['upload']['complete'];

const missingJobId = '00000000-0000-4000-8000-000000000000';

/** A session of `owner` with one initiated upload; nothing is in storage yet. */
async function startUpload(owner: Identity = coachA, input: Partial<Omit<InitiateInput, 'sessionId'>> = {}) {
  const caller = t.api.callerFor(signedIn(owner));
  const session = await caller.sessions.create({ title: 'Fielding', playerIds: [] });
  const upload = await caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 100, ...input });
  return { session, upload };
}

const jobRow = (jobId: string) =>
  t.testDb.db.selectFrom('videoAnalysisJobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
/** The job row but for what a complete attempt always changes: it is progress, so it pushes the deadline. */
async function jobRowButDeadline(jobId: string) {
  const { uploadExpiresAt: _deadline, updatedAt: _updated, ...rest } = await jobRow(jobId);
  return rest;
}
/** The outbox payload exactly as Postgres stores it. */
async function rawPayload(jobId: string): Promise<string> {
  const { rows } = await sql<{
    payload: string;
  }>`select payload::text as payload from outbox_messages where job_id = ${jobId}`.execute(t.testDb.db);
  return rows[0]?.payload ?? '';
}
function expectedMessage(sessionId: string, upload: { jobId: string; s3Key: string }, sampleFps: number, includeFrames: boolean) {
  return {
    schema_version: 1,
    job_id: upload.jobId,
    session_id: sessionId,
    sample_fps: sampleFps,
    include_frames: includeFrames,
    s3_bucket: 'test-bucket',
    s3_key: upload.s3Key,
  };
}
const outboxRows = () => t.testDb.db.selectFrom('outboxMessages').selectAll().orderBy('id').execute();

describe('upload.complete', () => {
  it('refuses to queue a job whose file has not arrived, changing nothing but its deadline', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 2048 });
    const before = await jobRowButDeadline(upload.jobId);
    const deadlineBefore = (await jobRow(upload.jobId)).uploadExpiresAt;
    const input: CompleteInput = { jobId: upload.jobId };

    await expect(t.api.callerFor(signedIn(coachA)).upload.complete(input)).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      cause: { code: 'UPLOAD_NOT_FOUND' },
    });
    expect(await jobRowButDeadline(upload.jobId)).toEqual(before);
    // An attempt is progress: the deadline moved out (never in).
    expect((await jobRow(upload.jobId)).uploadExpiresAt.getTime()).toBeGreaterThanOrEqual(deadlineBefore.getTime());
    expect(await outboxRows()).toHaveLength(0);
    expect(t.api.queue.sent).toHaveLength(0);
  });

  it('reports an upload whose link lapsed before the file arrived as UPLOAD_EXPIRED, changing nothing', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 2048 });
    await t.testDb.db
      .updateTable('videoAnalysisJobs')
      .set({ uploadExpiresAt: new Date(Date.now() - 60_000) })
      .where('id', '=', upload.jobId)
      .execute();
    const before = await jobRow(upload.jobId);

    await expect(t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
      cause: { code: 'UPLOAD_EXPIRED' },
    });
    expect(await jobRow(upload.jobId)).toEqual(before);
    expect(await outboxRows()).toHaveLength(0);
    expect(t.api.queue.sent).toHaveLength(0);
  });

  it('still queues a file that landed after the link lapsed (a slow upload started in time)', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 2048 });
    await t.testDb.db
      .updateTable('videoAnalysisJobs')
      .set({ uploadExpiresAt: new Date(Date.now() - 60_000) })
      .where('id', '=', upload.jobId)
      .execute();
    t.api.storage.put(upload.s3Key, { sizeBytes: 2048 });
    const result = await t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId });
    expect(result).toMatchObject({ status: 'queued', sqsMessageId: t.api.queue.sent[0]?.messageId });
    expect(t.api.queue.sent).toHaveLength(1);
  });

  it('queues the job and sends one analysis message', async () => {
    const { session, upload } = await startUpload(coachA, { sizeBytes: 2048, sampleFps: 24, includeFrames: true });
    t.api.storage.put(upload.s3Key, { sizeBytes: 2048, contentType: 'video/mp4', etag: '"abc"' });

    const result = await t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId });

    expect(t.api.queue.sent).toHaveLength(1);
    const messageId = t.api.queue.sent[0]?.messageId;
    expect(messageId).toEqual(expect.any(String));
    expect(result).toEqual({
      jobId: upload.jobId,
      status: 'queued',
      sqsMessageId: messageId,
      message: 'Video uploaded and queued for analysis.',
    });

    const row = await jobRow(upload.jobId);
    expect(row).toMatchObject({
      status: 'queued',
      sqsMessageId: messageId,
      sizeBytes: 2048,
      etag: '"abc"',
      errorCode: null,
    });
    expect(row.queuedAt).toBeInstanceOf(Date);

    const outbox = await outboxRows();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      dedupeKey: `analysis:${upload.jobId}`,
      jobId: upload.jobId,
      messageId,
      attempts: 1,
      lastError: null,
    });
    expect(outbox[0]?.sentAt).toBeInstanceOf(Date);
    // The stored row carries the contract (read as text, untouched by the query layer's key mapping).
    expect(JSON.parse(await rawPayload(upload.jobId))).toEqual(expectedMessage(session.sessionId, upload, 24, true));
    // The file stays where the worker will read it.
    expect(t.api.storage.objects.has(upload.s3Key)).toBe(true);
  });

  it('sends exactly the analysis-job contract as the message body', async () => {
    const { session, upload } = await startUpload(coachA, { sizeBytes: 2048, sampleFps: 24, includeFrames: true });
    t.api.storage.put(upload.s3Key, { sizeBytes: 2048 });
    await t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId });

    expect(t.api.queue.sent).toHaveLength(1);
    const body: unknown = JSON.parse(t.api.queue.sent[0]?.body ?? '');
    expect(body).toEqual(expectedMessage(session.sessionId, upload, 24, true));
    // The worker validates with this schema; a body it refuses would never be analysed.
    expect(AnalysisJobMessageSchema.safeParse(body).success).toBe(true);
  });

  it('accepts content-type parameters and case', async () => {
    const { upload } = await startUpload(coachA, { contentType: 'video/quicktime', sizeBytes: 777 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 777, contentType: 'Video/QuickTime; codecs="avc1"' });
    const result = await t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId });
    expect(result.status).toBe('queued');
    expect(await jobRow(upload.jobId)).toMatchObject({ status: 'queued', sizeBytes: 777 });
    expect(t.api.queue.sent).toHaveLength(1);
  });

  it('lets any staff member of the owning org complete an upload another started', async () => {
    const { upload } = await startUpload(orgUserX1, { sizeBytes: 10 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 10 });
    const result = await t.api.callerFor(signedIn(orgUserX2)).upload.complete({ jobId: upload.jobId });
    expect(result).toMatchObject({ status: 'queued', sqsMessageId: t.api.queue.sent[0]?.messageId });
    expect(t.api.queue.sent).toHaveLength(1);
  });

  it('answers a repeated call identically without sending again', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 100 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 100 });
    const caller = t.api.callerFor(signedIn(coachA));
    const first = await caller.upload.complete({ jobId: upload.jobId });
    const rowAfterFirst = await jobRow(upload.jobId);
    const second = await caller.upload.complete({ jobId: upload.jobId });
    expect(second).toEqual(first);
    expect(t.api.queue.sent).toHaveLength(1);
    expect(await outboxRows()).toHaveLength(1);
    expect(await jobRow(upload.jobId)).toEqual(rowAfterFirst);
  });

  it('queues once and answers alike when 20 calls race', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 100 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 100 });
    const caller = t.api.callerFor(signedIn(coachA));

    const results = await Promise.all(Array.from({ length: 20 }, () => caller.upload.complete({ jobId: upload.jobId })));

    expect(t.api.queue.sent).toHaveLength(1);
    const messageId = t.api.queue.sent[0]?.messageId;
    for (const result of results) {
      expect(result).toEqual({
        jobId: upload.jobId,
        status: 'queued',
        sqsMessageId: messageId,
        message: 'Video uploaded and queued for analysis.',
      });
    }
    const jobs = await t.testDb.db.selectFrom('videoAnalysisJobs').selectAll().execute();
    expect(jobs.filter((j) => j.status === 'queued')).toHaveLength(1);
    expect(jobs[0]?.sqsMessageId).toBe(messageId);
    const outbox = await outboxRows();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ messageId, attempts: 1 });
  });

  it.each([
    ['SIZE_MISMATCH', { sizeBytes: 1000 }, { sizeBytes: 999, contentType: 'video/mp4' }],
    ['SIZE_MISMATCH', { sizeBytes: 1000 }, { sizeBytes: 1001, contentType: 'video/mp4' }],
    ['CONTENT_TYPE_MISMATCH', { sizeBytes: 1000 }, { sizeBytes: 1000, contentType: 'video/quicktime' }],
    ['CONTENT_TYPE_MISMATCH', { sizeBytes: 1000 }, { sizeBytes: 1000, contentType: undefined }],
    ['EMPTY_UPLOAD', { sizeBytes: 1000 }, { sizeBytes: 0, contentType: 'video/mp4' }],
    ['FILE_TOO_LARGE', { sizeBytes: 1000 }, { sizeBytes: testConfig.maxUploadBytes + 1, contentType: 'video/mp4' }],
  ] as const)('rejects an upload with %s, deletes the file and queues nothing', async (errorCode, declared, stored) => {
    const { upload } = await startUpload(coachA, declared);
    t.api.storage.put(upload.s3Key, stored);
    const caller = t.api.callerFor(signedIn(coachA));

    const error = await caller.upload.complete({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', cause: { code: 'UPLOAD_REJECTED' } });

    const row = await jobRow(upload.jobId);
    expect(row).toMatchObject({ status: 'rejected', errorCode, sizeBytes: stored.sizeBytes, sqsMessageId: null });
    expect(row.errorMessage).toEqual(expect.any(String));
    expect(row.errorMessage?.length).toBeGreaterThan(0);
    expect((error as Error).message).toContain(row.errorMessage);
    expect(row.finishedAt).toBeInstanceOf(Date);

    expect(t.api.storage.objects.has(upload.s3Key)).toBe(false);
    expect(t.api.storage.deleted).toEqual([upload.s3Key]);
    expect(t.api.queue.sent).toHaveLength(0);
    expect(await outboxRows()).toHaveLength(0);

    // Asking again gives the same answer and changes nothing.
    const again = await caller.upload.complete({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(again).toMatchObject({
      code: 'UNPROCESSABLE_CONTENT',
      message: (error as Error).message,
      cause: { code: 'UPLOAD_REJECTED' },
    });
    expect(await jobRow(upload.jobId)).toEqual(row);
    expect(t.api.storage.deleted).toEqual([upload.s3Key]);
    expect(t.api.queue.sent).toHaveLength(0);
  });

  it('still rejects when the rejected file cannot be deleted', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 1000 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 5 });
    t.api.storage.fail.add('delete');
    await expect(t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId })).rejects.toMatchObject({
      code: 'UNPROCESSABLE_CONTENT',
      cause: { code: 'UPLOAD_REJECTED' },
    });
    expect(await jobRow(upload.jobId)).toMatchObject({ status: 'rejected', errorCode: 'SIZE_MISMATCH' });
    expect(t.api.queue.sent).toHaveLength(0);
  });

  it('answers a storage outage with SERVICE_UNAVAILABLE, changing nothing, and queues once on retry', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 100 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 100 });
    const before = await jobRowButDeadline(upload.jobId);
    const caller = t.api.callerFor(signedIn(coachA));

    t.api.storage.fail.add('head');
    const error = await caller.upload.complete({ jobId: upload.jobId }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', cause: { code: 'SERVICE_UNAVAILABLE' } });
    expect(await jobRowButDeadline(upload.jobId)).toEqual(before);
    expect(await outboxRows()).toHaveLength(0);
    expect(t.api.queue.sent).toHaveLength(0);

    t.api.storage.fail.delete('head');
    const result = await caller.upload.complete({ jobId: upload.jobId });
    expect(result).toMatchObject({ status: 'queued', sqsMessageId: t.api.queue.sent[0]?.messageId });
    await caller.upload.complete({ jobId: upload.jobId });
    expect(t.api.queue.sent).toHaveLength(1);
    expect(await outboxRows()).toHaveLength(1);
  });

  it('succeeds while the queue is down and the relay sends the message once it is back', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 100 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 100 });
    const caller = t.api.callerFor(signedIn(coachA));

    t.api.queue.failSends = true;
    const result = await caller.upload.complete({ jobId: upload.jobId });
    expect(result).toMatchObject({ jobId: upload.jobId, status: 'queued', sqsMessageId: null });
    expect(result.message).toMatch(/as soon as the queue is reachable/);
    expect(await jobRow(upload.jobId)).toMatchObject({ status: 'queued', sqsMessageId: null });
    const [pending] = await outboxRows();
    expect(pending).toMatchObject({ jobId: upload.jobId, attempts: 1, sentAt: null, messageId: null });
    expect(pending?.lastError).toEqual(expect.any(String));
    expect(pending?.lastError?.length).toBeGreaterThan(0);
    expect(t.api.queue.sent).toHaveLength(0);

    t.api.queue.failSends = false;
    // Make the backed-off row due now rather than waiting out the retry delay.
    await t.testDb.db
      .updateTable('outboxMessages')
      .set({ availableAt: new Date(Date.now() - 1000) })
      .execute();
    expect(await t.api.outbox.relayDue(10)).toEqual({ sent: 1, failed: 0 });
    expect(t.api.queue.sent).toHaveLength(1);
    const messageId = t.api.queue.sent[0]?.messageId;
    expect(await jobRow(upload.jobId)).toMatchObject({ status: 'queued', sqsMessageId: messageId });
    expect(await outboxRows()).toEqual([expect.objectContaining({ messageId, attempts: 2 })]);

    expect(await t.api.outbox.relayDue(10)).toEqual({ sent: 0, failed: 0 });
    expect(await caller.upload.complete({ jobId: upload.jobId })).toMatchObject({
      status: 'queued',
      sqsMessageId: messageId,
      message: 'Video uploaded and queued for analysis.',
    });
    expect(t.api.queue.sent).toHaveLength(1);
  });

  it('sends inline on the next complete once the queue is back, still only once', async () => {
    const { upload } = await startUpload(coachA);
    t.api.storage.put(upload.s3Key, { sizeBytes: 100 });
    const caller = t.api.callerFor(signedIn(coachA));

    t.api.queue.failSends = true;
    await caller.upload.complete({ jobId: upload.jobId });
    await caller.upload.complete({ jobId: upload.jobId });
    expect((await outboxRows())[0]).toMatchObject({ attempts: 2, sentAt: null });

    t.api.queue.failSends = false;
    const result = await caller.upload.complete({ jobId: upload.jobId });
    expect(t.api.queue.sent).toHaveLength(1);
    expect(result.sqsMessageId).toBe(t.api.queue.sent[0]?.messageId);
    await t.testDb.db
      .updateTable('outboxMessages')
      .set({ availableAt: new Date(Date.now() - 1000) })
      .execute();
    expect(await t.api.outbox.relayDue(10)).toEqual({ sent: 0, failed: 0 });
    expect(t.api.queue.sent).toHaveLength(1);
  });

  it("answers another owner's job exactly like a missing one and touches nothing", async () => {
    const coachJob = await startUpload(coachA, { sizeBytes: 100 });
    const orgJob = await startUpload(orgUserX1, { sizeBytes: 100 });
    t.api.storage.put(coachJob.upload.s3Key, { sizeBytes: 100 });
    // A file that would be rejected (and deleted) if anyone but the owner could complete it.
    t.api.storage.put(orgJob.upload.s3Key, { sizeBytes: 1 });
    const coachBefore = await jobRow(coachJob.upload.jobId);
    const orgBefore = await jobRow(orgJob.upload.jobId);

    const missing = await t.api
      .callerFor(signedIn(coachA))
      .upload.complete({ jobId: missingJobId })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', cause: { code: 'JOB_NOT_FOUND' } });

    for (const [who, jobId] of [
      [coachB, coachJob.upload.jobId],
      [orgUserX1, coachJob.upload.jobId],
      [orgUserY, orgJob.upload.jobId],
      [coachNamedLikeOrg, orgJob.upload.jobId],
    ] as const) {
      const error = await t.api
        .callerFor(signedIn(who))
        .upload.complete({ jobId })
        .catch((e: unknown) => e);
      expect(error, `${who.userId} on ${jobId}`).toMatchObject({
        code: 'NOT_FOUND',
        message: (missing as Error).message,
        cause: { code: 'JOB_NOT_FOUND' },
      });
    }

    expect(await jobRow(coachJob.upload.jobId)).toEqual(coachBefore);
    expect(await jobRow(orgJob.upload.jobId)).toEqual(orgBefore);
    expect(await outboxRows()).toHaveLength(0);
    expect(t.api.queue.sent).toHaveLength(0);
    expect(t.api.storage.deleted).toHaveLength(0);
    expect(t.api.storage.objects.has(orgJob.upload.s3Key)).toBe(true);
  });

  it('refuses anonymous callers, other roles and disabled features, even on their own job', async () => {
    const { upload } = await startUpload(coachA, { sizeBytes: 100 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 100 });
    const before = await jobRow(upload.jobId);
    const input: CompleteInput = { jobId: upload.jobId };

    await expect(t.api.callerFor(anonymous).upload.complete(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(t.api.callerFor({ status: 'invalid', reason: 'TOKEN_EXPIRED' }).upload.complete(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'TOKEN_EXPIRED' },
    });
    await expect(t.api.callerFor(signedIn(freeUser)).upload.complete(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    // coach-a themselves, downgraded to a role without video.
    await expect(t.api.callerFor(signedIn({ ...coachA, role: 'coach_free' })).upload.complete(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    // coach-a themselves, on a plan without upload.
    await expect(t.api.callerFor(signedIn(coachWithoutUpload)).upload.complete(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'FEATURE_DISABLED' },
    });

    expect(await jobRow(upload.jobId)).toEqual(before);
    expect(await outboxRows()).toHaveLength(0);
    expect(t.api.queue.sent).toHaveLength(0);
  });

  it.each([
    [{ jobId: 'not-a-uuid' }, 'jobId'],
    [{ jobId: '' }, 'jobId'],
    [{}, 'jobId'],
    [{ jobId: missingJobId, force: true }, ''],
  ])('rejects bad input %j naming the field %s', async (bad, field) => {
    const error = await t.api
      .callerFor(signedIn(coachA))
      .upload.complete(bad as CompleteInput)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const issues = (error as { cause: { issues: { path: PropertyKey[] }[] } }).cause.issues;
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
  });
});
