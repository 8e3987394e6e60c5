import { describe, expect, it } from 'vitest';

import type { Identity } from '@coach/api';
import { sql } from '@coach/db';

import { useCallerTests } from '../../../test/helpers/api.ts';
import {
  anonymous,
  coachA,
  coachB,
  coachNamedLikeOrg,
  freeUser,
  orgUserX1,
  orgUserX2,
  orgUserY,
  signedIn,
} from '../../../test/helpers/identities.ts';

const t = useCallerTests();

const missingId = '00000000-0000-4000-8000-000000000000';
const VIDEO_USERS = { coachA, coachB, orgUserX1, orgUserX2, orgUserY, coachNamedLikeOrg };
const sameOwner = (a: Identity, b: Identity) =>
  a.role === 'org_pro' && b.role === 'org_pro' ? a.orgId === b.orgId : a.userId === b.userId && a.role === b.role;
/** Every (owner, caller) pair of video users, with whether the caller acts for the owner. */
const PAIRS = Object.entries(VIDEO_USERS).flatMap(([ownerName, owner]) =>
  Object.entries(VIDEO_USERS).map(([callerName, caller]) => ({
    name: `${ownerName}'s data, ${callerName} calling`,
    owner,
    caller,
    allowed: sameOwner(owner, caller),
  })),
);

const as = (identity: Identity) => t.api.callerFor(signedIn(identity));

async function sessionWithJobs(owner: Identity, playerIds: string[], jobs = 1) {
  const session = await as(owner).sessions.create({ title: 'Nets', playerIds });
  const jobIds: string[] = [];
  for (let i = 0; i < jobs; i++) {
    jobIds.push((await as(owner).upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 })).jobId);
  }
  return { sessionId: session.sessionId, jobIds };
}

const jobRow = (jobId: string) =>
  t.testDb.db.selectFrom('videoAnalysisJobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
const sessionRow = (sessionId: string) =>
  t.testDb.db.selectFrom('videoSessions').selectAll().where('id', '=', sessionId).executeTakeFirstOrThrow();
const deletionRows = () => t.testDb.db.selectFrom('storageDeletions').selectAll().orderBy('requestedAt').execute();

describe('jobs.delete', () => {
  it('marks the job deleted, records its storage deletion in the same commit, and answers not found from then on', async () => {
    const { sessionId, jobIds } = await sessionWithJobs(coachA, ['p1'], 2);
    const [jobId, kept] = jobIds as [string, string];
    const before = await jobRow(jobId);

    expect(await as(coachA).jobs.delete({ jobId })).toEqual({ deleted: { jobId, sessionId } });

    expect(await jobRow(jobId)).toMatchObject({ status: 'deleted', result: null, leaseToken: null, clientRequestId: null });
    expect(await deletionRows()).toEqual([
      expect.objectContaining({
        jobId,
        sessionId: null,
        scope: 'everything',
        prefix: before.s3Key.slice(0, before.s3Key.lastIndexOf('/') + 1),
        requestedBy: 'coach-a',
        doneAt: null,
      }),
    ]);
    const notFound = { code: 'NOT_FOUND', cause: { code: 'JOB_NOT_FOUND' } };
    await expect(as(coachA).jobs.get({ jobId })).rejects.toMatchObject(notFound);
    await expect(as(coachA).jobs.videoUrl({ jobId })).rejects.toMatchObject(notFound);
    await expect(as(coachA).jobs.frames({ jobId, offset: 0, limit: 1 })).rejects.toMatchObject(notFound);
    await expect(as(coachA).upload.complete({ jobId })).rejects.toMatchObject(notFound);
    await expect(as(coachA).upload.abort({ jobId })).rejects.toMatchObject(notFound);
    await expect(as(coachA).jobs.delete({ jobId })).rejects.toMatchObject(notFound);
    const list = await as(coachA).jobs.list({ sessionId });
    expect(list.items.map((job) => job.jobId)).toEqual([kept]);
    // Recorded once: the repeat wrote no second deletion.
    expect(await deletionRows()).toHaveLength(1);
  });

  it('records how long a worker holding the lease may still write, and drops the unsent analysis message', async () => {
    const { jobIds } = await sessionWithJobs(coachA, [], 1);
    const jobId = jobIds[0] ?? '';
    const leaseEnd = new Date(Date.now() + 90_000);
    await sql`update video_analysis_jobs set status = 'processing', lease_token = gen_random_uuid(), lease_expires_at = ${leaseEnd}
      where id = ${jobId}`.execute(t.testDb.db);
    await sql`insert into outbox_messages (dedupe_key, job_id, payload) values ('analysis:x', ${jobId}, '{}')`.execute(
      t.testDb.db,
    );

    await as(coachA).jobs.delete({ jobId });

    const [row] = await deletionRows();
    expect(row?.repeatUntil.getTime()).toBe(leaseEnd.getTime());
    expect(await t.testDb.db.selectFrom('outboxMessages').selectAll().execute()).toEqual([]);
  });

  it('watches the key of an upload still in progress, as an abort does', async () => {
    const { jobIds } = await sessionWithJobs(coachA, [], 1);
    const jobId = jobIds[0] ?? '';
    const { uploadExpiresAt } = await jobRow(jobId);
    await as(coachA).jobs.delete({ jobId });
    expect((await jobRow(jobId)).keyWritableUntil).toEqual(uploadExpiresAt);
  });

  it.each(PAIRS)('$name: deleted only when the caller acts for the owner', async ({ owner, caller, allowed }) => {
    const { jobIds } = await sessionWithJobs(owner, [], 1);
    const jobId = jobIds[0] ?? '';
    const attempt = as(caller).jobs.delete({ jobId });
    if (allowed) await expect(attempt).resolves.toMatchObject({ deleted: { jobId } });
    else await expect(attempt).rejects.toMatchObject({ code: 'NOT_FOUND', cause: { code: 'JOB_NOT_FOUND' } });
    expect((await jobRow(jobId)).status).toBe(allowed ? 'deleted' : 'awaiting_upload');
    expect(await deletionRows()).toHaveLength(allowed ? 1 : 0);
  });

  it('refuses anonymous callers, other roles and bad input with their codes', async () => {
    const { jobIds } = await sessionWithJobs(coachA, [], 1);
    const jobId = jobIds[0] ?? '';
    await expect(t.api.callerFor(anonymous).jobs.delete({ jobId })).rejects.toMatchObject({
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(as(freeUser).jobs.delete({ jobId })).rejects.toMatchObject({ cause: { code: 'ROLE_NOT_ALLOWED' } });
    await expect(as(coachA).jobs.delete({ jobId: 'nope' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(as(coachA).jobs.delete({ jobId: missingId })).rejects.toMatchObject({ cause: { code: 'JOB_NOT_FOUND' } });
    expect((await jobRow(jobId)).status).toBe('awaiting_upload');
  });
});

describe('sessions.delete', () => {
  it('deletes the session and every job in it in one commit; every procedure answers not found afterwards', async () => {
    const { sessionId, jobIds } = await sessionWithJobs(coachA, ['p1'], 2);
    const other = await sessionWithJobs(coachA, ['p1'], 1);

    const answer = await as(coachA).sessions.delete({ sessionId });
    expect(answer.sessionId).toBe(sessionId);
    expect(answer.jobsDeleted.map((j) => j.jobId).sort()).toEqual([...jobIds].sort());

    expect(await sessionRow(sessionId)).toMatchObject({ title: '', playerIds: [], deletedAt: expect.any(Date) });
    const rows = await deletionRows();
    expect(rows.filter((r) => r.sessionId === sessionId)).toHaveLength(1);
    expect(rows.flatMap((r) => (r.jobId ? [r.jobId] : [])).sort()).toEqual([...jobIds].sort());
    const sessionGone = { code: 'NOT_FOUND', cause: { code: 'SESSION_NOT_FOUND' } };
    await expect(as(coachA).sessions.get({ sessionId })).rejects.toMatchObject(sessionGone);
    await expect(as(coachA).jobs.list({ sessionId })).rejects.toMatchObject(sessionGone);
    await expect(as(coachA).upload.initiate({ sessionId, sizeBytes: 100 })).rejects.toMatchObject(sessionGone);
    await expect(as(coachA).sessions.delete({ sessionId })).rejects.toMatchObject(sessionGone);
    for (const jobId of jobIds) {
      await expect(as(coachA).jobs.get({ jobId })).rejects.toMatchObject({ cause: { code: 'JOB_NOT_FOUND' } });
    }
    const listed = await as(coachA).sessions.list();
    expect(listed.items.map((s) => s.sessionId)).toEqual([other.sessionId]);
    expect((await jobRow(other.jobIds[0] ?? '')).status).toBe('awaiting_upload');
  });

  it.each(PAIRS)('$name: deleted only when the caller acts for the owner', async ({ owner, caller, allowed }) => {
    const { sessionId, jobIds } = await sessionWithJobs(owner, ['p1'], 1);
    const attempt = as(caller).sessions.delete({ sessionId });
    if (allowed) await expect(attempt).resolves.toMatchObject({ sessionId });
    else await expect(attempt).rejects.toMatchObject({ code: 'NOT_FOUND', cause: { code: 'SESSION_NOT_FOUND' } });
    expect((await sessionRow(sessionId)).deletedAt === null).toBe(!allowed);
    expect((await jobRow(jobIds[0] ?? '')).status).toBe(allowed ? 'deleted' : 'awaiting_upload');
  });

  it('refuses anonymous callers and other roles', async () => {
    const { sessionId } = await sessionWithJobs(coachA, [], 0);
    await expect(t.api.callerFor(anonymous).sessions.delete({ sessionId })).rejects.toMatchObject({
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(as(freeUser).sessions.delete({ sessionId })).rejects.toMatchObject({ cause: { code: 'ROLE_NOT_ALLOWED' } });
    expect((await sessionRow(sessionId)).deletedAt).toBeNull();
  });
});

describe('sessions.erasePlayer', () => {
  it("removes the id from the caller's sessions, deletes those where it was the only player, and reports exactly that", async () => {
    const alone = await sessionWithJobs(coachA, ['p1'], 2);
    const shared = await sessionWithJobs(coachA, ['p2', 'p1', 'p3'], 1);
    const without = await sessionWithJobs(coachA, ['p2'], 1);
    const empty = await sessionWithJobs(coachA, [], 1);
    // Other owners using the same id, including one whose ids look like the caller's.
    const foreign = await sessionWithJobs(coachB, ['p1'], 1);
    const lookalike = await sessionWithJobs(coachNamedLikeOrg, ['p1'], 1);
    const org = await sessionWithJobs(orgUserX1, ['p1', 'p2'], 1);

    const report = await as(coachA).sessions.erasePlayer({ playerId: 'p1' });

    expect(report).toEqual({
      playerId: 'p1',
      sessionsUpdated: [shared.sessionId],
      sessionsDeleted: [alone.sessionId],
      jobsDeleted: expect.arrayContaining(alone.jobIds.map((jobId) => ({ jobId, sessionId: alone.sessionId }))),
    });
    expect(report.jobsDeleted).toHaveLength(2);
    expect((await sessionRow(shared.sessionId)).playerIds).toEqual(['p2', 'p3']);
    expect((await jobRow(shared.jobIds[0] ?? '')).status).toBe('awaiting_upload');
    expect((await sessionRow(alone.sessionId)).deletedAt).not.toBeNull();
    for (const untouched of [without, empty, foreign, lookalike, org]) {
      expect((await sessionRow(untouched.sessionId)).deletedAt).toBeNull();
      expect((await jobRow(untouched.jobIds[0] ?? '')).status).toBe('awaiting_upload');
    }
    expect((await sessionRow(foreign.sessionId)).playerIds).toEqual(['p1']);
    expect((await sessionRow(lookalike.sessionId)).playerIds).toEqual(['p1']);
    expect((await sessionRow(org.sessionId)).playerIds).toEqual(['p1', 'p2']);

    // Nothing is left to erase: a repeat reports nothing.
    expect(await as(coachA).sessions.erasePlayer({ playerId: 'p1' })).toEqual({
      playerId: 'p1',
      sessionsUpdated: [],
      sessionsDeleted: [],
      jobsDeleted: [],
    });
  });

  it.each(PAIRS)("$name: only the caller's own sessions change", async ({ owner, caller, allowed }) => {
    const alone = await sessionWithJobs(owner, ['p9'], 1);
    const shared = await sessionWithJobs(owner, ['p9', 'p8'], 1);
    const report = await as(caller).sessions.erasePlayer({ playerId: 'p9' });
    if (allowed) {
      expect(report).toMatchObject({ sessionsUpdated: [shared.sessionId], sessionsDeleted: [alone.sessionId] });
    } else {
      expect(report).toEqual({ playerId: 'p9', sessionsUpdated: [], sessionsDeleted: [], jobsDeleted: [] });
      expect((await sessionRow(shared.sessionId)).playerIds).toEqual(['p9', 'p8']);
      expect((await sessionRow(alone.sessionId)).deletedAt).toBeNull();
    }
  });

  it('refuses anonymous callers, other roles and a missing or blank id', async () => {
    await expect(t.api.callerFor(anonymous).sessions.erasePlayer({ playerId: 'p1' })).rejects.toMatchObject({
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(as(freeUser).sessions.erasePlayer({ playerId: 'p1' })).rejects.toMatchObject({
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    for (const bad of [{}, { playerId: '' }, { playerId: '   ' }, { playerId: 'x'.repeat(129) }]) {
      await expect(as(coachA).sessions.erasePlayer(bad as { playerId: string })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});
