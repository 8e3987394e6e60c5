import { describe, expect, it } from 'vitest';

import type { Identity, RouterInputs } from '@coach/api';
import { sql } from '@coach/db';
import type { Logger } from '@coach/jobs';

import { useCallerTests } from '../../../test/helpers/api.ts';
import {
  anonymous,
  coachA,
  coachB,
  coachNamedLikeOrg,
  freeUser,
  issueServiceKey,
  orgUserX1,
  orgUserX2,
  orgUserY,
  signedIn,
} from '../../../test/helpers/identities.ts';
import { getJob } from '../src/domain/jobs.ts';

const t = useCallerTests();

type GetInput = RouterInputs['jobs']['get'];
type ListInput = RouterInputs['jobs']['list'];

const missingId = '00000000-0000-4000-8000-000000000000';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function createSession(owner: Identity) {
  return t.api.callerFor(signedIn(owner)).sessions.create({ title: 'Nets', playerIds: [] });
}

async function initiate(
  owner: Identity,
  sessionId: string,
  input: Partial<Omit<RouterInputs['upload']['initiate'], 'sessionId'>> = {},
) {
  return t.api.callerFor(signedIn(owner)).upload.initiate({ sessionId, sizeBytes: 100, ...input });
}

/** Job ids of a session as the database orders them: newest first, ties by id. */
async function jobIdsNewestFirst(sessionId: string): Promise<string[]> {
  const rows = await t.testDb.db
    .selectFrom('videoAnalysisJobs')
    .select('id')
    .where('sessionId', '=', sessionId)
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => r.id);
}

describe('jobs.get', () => {
  it('shows the owner the job with ISO date strings and no Date objects', async () => {
    const session = await createSession(coachA);
    const upload = await initiate(coachA, session.sessionId, { sizeBytes: 321, sampleFps: 5, includeFrames: true });
    const input: GetInput = { jobId: upload.jobId };

    const view = await t.api.callerFor(signedIn(coachA)).jobs.get(input);
    const row = await t.testDb.db
      .selectFrom('videoAnalysisJobs')
      .selectAll()
      .where('id', '=', upload.jobId)
      .executeTakeFirstOrThrow();

    expect(view).toEqual({
      jobId: upload.jobId,
      sessionId: session.sessionId,
      videoId: upload.videoId,
      status: 'awaiting_upload',
      sampleFps: 5,
      includeFrames: true,
      contentType: 'video/mp4',
      s3Bucket: 'test-bucket',
      s3Key: upload.s3Key,
      declaredSizeBytes: 321,
      sizeBytes: null,
      sqsMessageId: null,
      errorCode: null,
      errorMessage: null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
      uploadExpiresAt: upload.uploadExpiresAt,
      queuedAt: null,
      startedAt: null,
      finishedAt: null,
      progressPercent: 0,
      framesDone: 0,
      framesTotal: null,
      attempts: 0,
      result: null,
      originalRemovesAt: null,
      originalRemovedAt: null,
      artifacts: null,
    });
    expect(Object.values(view).some((v) => v instanceof Date)).toBe(false);
    expect(view.createdAt).toMatch(ISO);
    expect(view.updatedAt).toMatch(ISO);
    expect(view.uploadExpiresAt).toMatch(ISO);
    // Internal columns stay internal.
    expect(view).not.toHaveProperty('ownerId');
    expect(view).not.toHaveProperty('etag');
  });

  it('reflects a completed upload, with queuedAt as an ISO string', async () => {
    const session = await createSession(coachA);
    const upload = await initiate(coachA, session.sessionId, { sizeBytes: 50 });
    t.api.storage.put(upload.s3Key, { sizeBytes: 50 });
    const completed = await t.api.callerFor(signedIn(coachA)).upload.complete({ jobId: upload.jobId });

    const view = await t.api.callerFor(signedIn(coachA)).jobs.get({ jobId: upload.jobId });
    expect(view).toMatchObject({ status: 'queued', sizeBytes: 50, sqsMessageId: completed.sqsMessageId });
    expect(view.sqsMessageId).toEqual(expect.any(String));
    expect(view.queuedAt).toMatch(ISO);
    expect(Object.values(view).some((v) => v instanceof Date)).toBe(false);
  });

  it('shows an org job to every staff member of the org', async () => {
    const session = await createSession(orgUserX1);
    const upload = await initiate(orgUserX1, session.sessionId);
    const asStaff1 = await t.api.callerFor(signedIn(orgUserX1)).jobs.get({ jobId: upload.jobId });
    const asStaff2 = await t.api.callerFor(signedIn(orgUserX2)).jobs.get({ jobId: upload.jobId });
    expect(asStaff2).toEqual(asStaff1);
    expect(asStaff1.jobId).toBe(upload.jobId);
  });

  it("answers another owner's job exactly like a missing one", async () => {
    const coachSession = await createSession(coachA);
    const orgSession = await createSession(orgUserX1);
    const coachJob = await initiate(coachA, coachSession.sessionId);
    const orgJob = await initiate(orgUserX1, orgSession.sessionId);

    const missing = await t.api
      .callerFor(signedIn(coachA))
      .jobs.get({ jobId: missingId })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', cause: { code: 'JOB_NOT_FOUND' } });

    for (const [who, jobId] of [
      [coachB, coachJob.jobId],
      [orgUserX1, coachJob.jobId],
      [orgUserY, orgJob.jobId],
      [coachNamedLikeOrg, orgJob.jobId],
    ] as const) {
      const error = await t.api
        .callerFor(signedIn(who))
        .jobs.get({ jobId })
        .catch((e: unknown) => e);
      expect(error, `${who.userId} on ${jobId}`).toMatchObject({
        code: 'NOT_FOUND',
        message: (missing as Error).message,
        cause: { code: 'JOB_NOT_FOUND' },
      });
    }
  });

  it('refuses anonymous callers and other roles', async () => {
    const session = await createSession(coachA);
    const upload = await initiate(coachA, session.sessionId);
    await expect(t.api.callerFor(anonymous).jobs.get({ jobId: upload.jobId })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(
      t.api.callerFor(signedIn({ ...coachA, role: 'coach_free' })).jobs.get({ jobId: upload.jobId }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', cause: { code: 'ROLE_NOT_ALLOWED' } });
  });

  it.each([
    [{ jobId: 'not-a-uuid' }, 'jobId'],
    [{}, 'jobId'],
    [{ jobId: missingId, sessionId: missingId }, ''],
  ])('rejects bad input %j naming the field %s', async (bad, field) => {
    const error = await t.api
      .callerFor(signedIn(coachA))
      .jobs.get(bad as GetInput)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const issues = (error as { cause: { issues: { path: PropertyKey[] }[] } }).cause.issues;
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
  });
});

describe('jobs.list', () => {
  it('pages through only the session’s jobs, newest first, without gaps or repeats', async () => {
    const session = await createSession(coachA);
    const otherSession = await createSession(coachA);
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await initiate(coachA, session.sessionId)).jobId);
    await initiate(coachA, otherSession.sessionId);
    await initiate(coachB, (await createSession(coachB)).sessionId);

    const caller = t.api.callerFor(signedIn(coachA));
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    do {
      const input: ListInput = { sessionId: session.sessionId, limit: 3, cursor };
      const page = await caller.jobs.list(input);
      expect(page.items.every((j) => j.sessionId === session.sessionId)).toBe(true);
      seen.push(...page.items.map((j) => j.jobId));
      pageSizes.push(page.items.length);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && pageSizes.length < 10);

    expect(pageSizes).toEqual([3, 3, 1]);
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort()).toEqual([...created].sort());
    expect(seen).toEqual(await jobIdsNewestFirst(session.sessionId));
  });

  it('returns the last page without a next cursor, and defaults the page size', async () => {
    const session = await createSession(coachA);
    for (let i = 0; i < 3; i++) await initiate(coachA, session.sessionId);
    const caller = t.api.callerFor(signedIn(coachA));

    const exact = await caller.jobs.list({ sessionId: session.sessionId, limit: 3 });
    expect(exact.items).toHaveLength(3);
    expect(exact.nextCursor).toBeNull();

    const byDefault = await caller.jobs.list({ sessionId: session.sessionId });
    expect(byDefault.items.map((j) => j.jobId)).toEqual(exact.items.map((j) => j.jobId));
    expect(byDefault.nextCursor).toBeNull();
    expect(byDefault.items.every((j) => typeof j.createdAt === 'string' && ISO.test(j.createdAt))).toBe(true);
  });

  it('returns an empty page for an own session with no jobs', async () => {
    const session = await createSession(coachA);
    await expect(t.api.callerFor(signedIn(coachA)).jobs.list({ sessionId: session.sessionId })).resolves.toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it("answers another owner's session exactly like a missing one, even when it has jobs", async () => {
    const coachSession = await createSession(coachA);
    const orgSession = await createSession(orgUserX1);
    await initiate(coachA, coachSession.sessionId);
    await initiate(orgUserX1, orgSession.sessionId);

    const missing = await t.api
      .callerFor(signedIn(coachA))
      .jobs.list({ sessionId: missingId })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', cause: { code: 'SESSION_NOT_FOUND' } });

    for (const [who, sessionId] of [
      [coachB, coachSession.sessionId],
      [orgUserX1, coachSession.sessionId],
      [orgUserY, orgSession.sessionId],
      [coachNamedLikeOrg, orgSession.sessionId],
    ] as const) {
      const error = await t.api
        .callerFor(signedIn(who))
        .jobs.list({ sessionId })
        .catch((e: unknown) => e);
      expect(error, `${who.userId} on ${sessionId}`).toMatchObject({
        code: 'NOT_FOUND',
        message: (missing as Error).message,
        cause: { code: 'SESSION_NOT_FOUND' },
      });
    }
  });

  it('shows both staff members of an org all of the org session’s jobs', async () => {
    const session = await createSession(orgUserX1);
    const jobIds = [
      (await initiate(orgUserX1, session.sessionId)).jobId,
      (await initiate(orgUserX2, session.sessionId)).jobId,
      (await initiate(orgUserX1, session.sessionId)).jobId,
    ];
    const asStaff1 = await t.api.callerFor(signedIn(orgUserX1)).jobs.list({ sessionId: session.sessionId });
    const asStaff2 = await t.api.callerFor(signedIn(orgUserX2)).jobs.list({ sessionId: session.sessionId });
    expect(asStaff2).toEqual(asStaff1);
    expect(asStaff1.items.map((j) => j.jobId).sort()).toEqual([...jobIds].sort());
    expect(asStaff1.nextCursor).toBeNull();
  });

  it('refuses anonymous callers and other roles', async () => {
    const session = await createSession(coachA);
    await expect(t.api.callerFor(anonymous).jobs.list({ sessionId: session.sessionId })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(t.api.callerFor(signedIn(freeUser)).jobs.list({ sessionId: session.sessionId })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
  });

  it.each([
    [{ sessionId: 'nope' }, 'sessionId'],
    [{}, 'sessionId'],
    [{ sessionId: missingId, limit: 0 }, 'limit'],
    [{ sessionId: missingId, limit: 101 }, 'limit'],
    [{ sessionId: missingId, limit: 2.5 }, 'limit'],
    [{ sessionId: missingId, cursor: '' }, 'cursor'],
    [{ sessionId: missingId, status: 'queued' }, ''],
  ])('rejects bad input %j naming the field %s', async (bad, field) => {
    const error = await t.api
      .callerFor(signedIn(coachA))
      .jobs.list(bad as ListInput)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const issues = (error as { cause: { issues: { path: PropertyKey[] }[] } }).cause.issues;
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
  });

  it('rejects a forged cursor with a clear code', async () => {
    const session = await createSession(coachA);
    await expect(
      t.api.callerFor(signedIn(coachA)).jobs.list({ sessionId: session.sessionId, cursor: 'not-a-cursor' }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST', cause: { code: 'INVALID_CURSOR' } });
  });
});

describe('a stored result that fails its schema', () => {
  it('reads as null and is logged with the job, never dropped silently', async () => {
    const session = await createSession(coachA);
    const { jobId } = await initiate(coachA, session.sessionId);
    // Written around the worker's validation, as a hand edit or an older schema would be.
    await sql`update video_analysis_jobs set status = 'completed', result = '{"schemaVersion": 99}'::jsonb where id = ${jobId}`.execute(
      t.testDb.db,
    );
    const logged: { obj: object; msg: string | undefined }[] = [];
    const logger: Logger = { info: () => {}, warn: () => {}, error: (obj, msg) => logged.push({ obj, msg }) };

    const view = await getJob({ db: t.testDb.db, logger, config: {} }, { owner: { type: 'coach', id: coachA.userId }, jobId });

    expect(view.result).toBeNull();
    expect(logged).toEqual([
      {
        obj: expect.objectContaining({ jobId, issues: expect.arrayContaining([expect.stringContaining('schemaVersion')]) }),
        msg: 'stored analysis result fails its schema; shown as null',
      },
    ]);
  });
});

describe('jobs with a service key', () => {
  it("reads its org's jobs only, with jobs:read", async () => {
    const own = await createSession(orgUserX1);
    const ownJob = await initiate(orgUserX2, own.sessionId);
    const foreignSession = await createSession(orgUserY);
    const foreignJob = await initiate(orgUserY, foreignSession.sessionId);
    const coachJob = await initiate(coachNamedLikeOrg, (await createSession(coachNamedLikeOrg)).sessionId);

    const service = t.api.callerFor(await (await issueServiceKey(t.api, orgUserX1, ['jobs:read'])).auth());
    await expect(service.jobs.get({ jobId: ownJob.jobId })).resolves.toMatchObject({
      jobId: ownJob.jobId,
      status: 'awaiting_upload',
    });
    expect((await service.jobs.list({ sessionId: own.sessionId })).items.map((j) => j.jobId)).toEqual([ownJob.jobId]);
    for (const jobId of [foreignJob.jobId, coachJob.jobId]) {
      await expect(service.jobs.get({ jobId })).rejects.toMatchObject({ code: 'NOT_FOUND', cause: { code: 'JOB_NOT_FOUND' } });
      await expect(service.jobs.videoUrl({ jobId })).rejects.toMatchObject({ cause: { code: 'JOB_NOT_FOUND' } });
    }
    await expect(service.jobs.list({ sessionId: foreignSession.sessionId })).rejects.toMatchObject({
      cause: { code: 'SESSION_NOT_FOUND' },
    });

    const noJobs = t.api.callerFor(await (await issueServiceKey(t.api, orgUserX1, ['sessions:read', 'uploads:write'])).auth());
    await expect(noJobs.jobs.get({ jobId: ownJob.jobId })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'INSUFFICIENT_SCOPE', message: expect.stringContaining('jobs:read') },
    });
  });
});
