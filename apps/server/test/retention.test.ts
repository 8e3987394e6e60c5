import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ObjectStorage } from '@coach/aws';
import { createClient, errorCodeOf, type ApiClient } from '@coach/client';
import { findJob, insertJobForOwnedSession, readOwnerUsage, sql, type Owner } from '@coach/db';
import { framesPrefix, metricsKey, prefixOfKey } from '@coach/jobs';
import { sweepOnce } from '@coach/worker';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import { inParallel } from '../../../test/helpers/faults.ts';
import {
  coachA,
  coachB,
  coachNamedLikeOrg,
  freeUser,
  orgUserX1,
  orgUserX2,
  orgUserY,
  type Identity,
} from '../../../test/helpers/identities.ts';
import { letTimePassForJob, newJobParams } from '../../../test/helpers/job-rows.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

const DAY_SECONDS = 24 * 3600;
const DAY_MS = DAY_SECONDS * 1000;
const DEFAULTS = { deleteOriginalsAfterDays: 30, deleteEverythingAfterDays: 365 };
const VIDEO_BYTES = 4_000;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ config: { retentionDefaults: DEFAULTS } });
});
afterAll(() => server.close());

const ownerOf = (identity: Identity): Owner =>
  identity.role === 'coach_pro_plus' ? { type: 'coach', id: identity.userId } : { type: 'org', id: identity.orgId ?? '' };
const usedBytes = async (identity: Identity) =>
  (await readOwnerUsage(server.db, { owner: ownerOf(identity), defaultQuotaBytes: 0 })).usedBytes;
const listed = (prefix: string) => server.storage.listKeys(prefix);

const letDaysPass = (jobId: string, days: number) => letTimePassForJob(server.db, jobId, days * 86_400);

const sweep = (storage: ObjectStorage = server.storage) =>
  sweepOnce(sweeperOptionsFor(server, { storage, deletionWriteMarginSeconds: 0, retentionDefaults: DEFAULTS }));

/** A video uploaded through the API (a real PUT, upload.complete), left `queued` unless `completed` with its analysis stored. */
async function storedVideo(identity: Identity, options: { completed: boolean } = { completed: true }) {
  const client = server.clientFor(identity);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Nets', playerIds: [] });
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: VIDEO_BYTES });
  const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(VIDEO_BYTES) });
  expect(put.status).toBe(200);
  await client.upload.complete.mutate({ jobId: upload.jobId });
  if (options.completed) {
    await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: 2 });
    // What the analysis stores beside the original.
    await server.storage.putObject(metricsKey(upload.s3Key), new TextEncoder().encode('{"frames":[]}'), 'application/json');
    for (const index of [0, 1]) {
      await server.storage.putObject(`${framesPrefix(upload.s3Key)}00000${index}.jpg`, new Uint8Array(10), 'image/jpeg');
    }
  }
  return { client, jobId: upload.jobId, key: upload.s3Key, prefix: prefixOfKey(upload.s3Key), sessionId };
}

async function codeOf(call: Promise<unknown>) {
  return call.then(
    () => 'resolved',
    (error: unknown) => errorCodeOf(error),
  );
}

describe('retention.get, retention.set and retention.reset', () => {
  it('answers the configured defaults to an owner without a policy of its own', async () => {
    expect(await server.clientFor(coachB).retention.get.query()).toEqual({
      ...DEFAULTS,
      source: 'defaults',
      defaults: DEFAULTS,
      updatedBy: null,
      updatedAt: null,
    });
  });

  it("sets only the caller's own owner's policy: a coach's for themselves, org staff's for their organisation", async () => {
    const mine = { deleteOriginalsAfterDays: 7, deleteEverythingAfterDays: null };
    const theirs = { deleteOriginalsAfterDays: null, deleteEverythingAfterDays: 90 };
    expect(await server.clientFor(coachA).retention.set.mutate(mine)).toMatchObject({
      ...mine,
      source: 'owner',
      updatedBy: coachA.userId,
    });
    await server.clientFor(orgUserX1).retention.set.mutate(theirs);

    const seen = async (identity: Identity) => server.clientFor(identity).retention.get.query();
    expect(await seen(coachA)).toMatchObject({ ...mine, source: 'owner', defaults: DEFAULTS });
    // Org staff share their organisation's policy, whoever of them set it.
    expect(await seen(orgUserX2)).toMatchObject({ ...theirs, source: 'owner', updatedBy: orgUserX1.userId });
    // Nobody else's: another coach, another org, a coach whose id is org-x's.
    for (const other of [coachB, orgUserY, coachNamedLikeOrg]) {
      expect(await seen(other)).toMatchObject({ ...DEFAULTS, source: 'defaults' });
    }
    const { rows } = await sql<{ owner: string }>`
      select owner_type || ':' || owner_id as owner from retention_policies order by 1`.execute(server.db);
    expect(rows.map((row) => row.owner)).toEqual(['coach:coach-a', 'org:org-x']);

    expect(await server.clientFor(orgUserX2).retention.reset.mutate()).toMatchObject({ ...DEFAULTS, source: 'defaults' });
    expect(await seen(orgUserX1)).toMatchObject({ source: 'defaults' });
    expect(await seen(coachA)).toMatchObject({ ...mine, source: 'owner' });
    await server.clientFor(coachA).retention.reset.mutate();
  });

  it('answers only signed-in video users: no token, or a role without video, is refused', async () => {
    const anonymous = createClient({ url: server.trpcUrl });
    expect(await codeOf(anonymous.retention.get.query())).toBe('UNAUTHENTICATED');
    expect(await codeOf(server.clientFor(freeUser).retention.set.mutate(DEFAULTS))).toBe('ROLE_NOT_ALLOWED');
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from retention_policies`.execute(server.db);
    expect(rows[0]?.n).toBe(0);
  });

  it('lets a service key read with sessions:read and change with sessions:write, for its own organisation only', async () => {
    const staff = server.clientFor(orgUserY);
    const keyWith = async (scopes: ('sessions:read' | 'sessions:write' | 'jobs:read')[]): Promise<ApiClient> => {
      const created = await staff.serviceKeys.create.mutate({ name: scopes.join(' '), scopes });
      return createClient({ url: server.trpcUrl, token: created.secret });
    };
    const writer = await keyWith(['sessions:write']);
    const reader = await keyWith(['sessions:read']);
    const neither = await keyWith(['jobs:read']);
    const policy = { deleteOriginalsAfterDays: 3, deleteEverythingAfterDays: 4 };

    expect(await writer.retention.set.mutate(policy)).toMatchObject({ ...policy, source: 'owner' });
    expect(await reader.retention.get.query()).toMatchObject({ ...policy, source: 'owner' });
    expect(await server.clientFor(orgUserX1).retention.get.query()).toMatchObject({ source: 'defaults' });
    expect(await codeOf(reader.retention.set.mutate(policy))).toBe('INSUFFICIENT_SCOPE');
    expect(await codeOf(reader.retention.reset.mutate())).toBe('INSUFFICIENT_SCOPE');
    expect(await codeOf(writer.retention.get.query())).toBe('INSUFFICIENT_SCOPE');
    expect(await codeOf(neither.retention.get.query())).toBe('INSUFFICIENT_SCOPE');
    await writer.retention.reset.mutate();
  });

  it('puts every change of the policy on the audit trail, by whoever made it; a refused one writes nothing', async () => {
    const coach = { ...coachA, userId: 'coach-retention-audit' };
    const client = server.clientFor(coach);
    await client.retention.set.mutate({ deleteOriginalsAfterDays: 5, deleteEverythingAfterDays: null });
    expect(await codeOf(client.retention.set.mutate({ deleteOriginalsAfterDays: 9, deleteEverythingAfterDays: 9 }))).toBe(
      'INVALID_INPUT',
    );
    await client.retention.reset.mutate();

    const trail = await client.audit.list.query({ action: 'retention.changed' });
    expect(trail.items.map(({ actor, target, details }) => ({ actor, target, details }))).toEqual([
      { actor: { kind: 'user', id: coach.userId }, target: { type: 'retention', id: null }, details: { reset: true } },
      {
        actor: { kind: 'user', id: coach.userId },
        target: { type: 'retention', id: null },
        details: { deleteOriginalsAfterDays: 5, deleteEverythingAfterDays: null },
      },
    ]);
  });

  it('refuses a policy that is not whole days within 1..3650, or removes originals no sooner than everything, naming the field', async () => {
    const token = await server.tokenFor(coachB);
    const post = async (body: unknown) => {
      const response = await fetch(`${server.url}/api/v1/retention`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as {
        error: { message: string; data: { appCode: string; fieldErrors: Record<string, string[]> | null } };
      };
      return { status: response.status, ...answer.error.data, message: answer.error.message };
    };
    const cases: [unknown, string][] = [
      [{ deleteOriginalsAfterDays: 0, deleteEverythingAfterDays: null }, 'deleteOriginalsAfterDays'],
      [{ deleteOriginalsAfterDays: null, deleteEverythingAfterDays: 3651 }, 'deleteEverythingAfterDays'],
      [{ deleteOriginalsAfterDays: 1.5, deleteEverythingAfterDays: null }, 'deleteOriginalsAfterDays'],
      [{ deleteOriginalsAfterDays: '7', deleteEverythingAfterDays: null }, 'deleteOriginalsAfterDays'],
      [{ deleteOriginalsAfterDays: 30, deleteEverythingAfterDays: 30 }, 'deleteOriginalsAfterDays'],
      [{ deleteOriginalsAfterDays: 40, deleteEverythingAfterDays: 30 }, 'deleteOriginalsAfterDays'],
      [{ deleteOriginalsAfterDays: 7 }, 'deleteEverythingAfterDays'],
    ];
    for (const [body, field] of cases) {
      const refused = await post(body);
      expect(refused, JSON.stringify(body)).toMatchObject({ status: 400, appCode: 'INVALID_INPUT' });
      expect(Object.keys(refused.fieldErrors ?? {}), JSON.stringify(body)).toEqual([field]);
    }
    expect((await post({ deleteOriginalsAfterDays: 30, deleteEverythingAfterDays: 30 })).message).toContain(
      'must be fewer days than deleteEverythingAfterDays (30)',
    );
    expect(await server.clientFor(coachB).retention.get.query()).toMatchObject({ source: 'defaults' });
  });
});

describe('the sweeper enforces retention', () => {
  it('removes the original after N days, keeping frames, metrics and the summary, and releases its bytes', async () => {
    const owner = { ...coachA, userId: 'coach-retain-originals' };
    const policy = { deleteOriginalsAfterDays: 2, deleteEverythingAfterDays: 10 };
    await server.clientFor(owner).retention.set.mutate(policy);
    const video = await storedVideo(owner);
    const running = await storedVideo(owner, { completed: false });

    const before = await video.client.jobs.get.query({ jobId: video.jobId });
    expect(before.originalRemovedAt).toBeNull();
    expect(Date.parse(before.originalRemovesAt ?? '')).toBe(Date.parse(before.queuedAt ?? '') + 2 * DAY_MS);
    expect(await usedBytes(owner)).toBe(2 * VIDEO_BYTES);

    // Within the window: nothing happens.
    await letDaysPass(video.jobId, 1);
    expect(await sweep()).toMatchObject({ retentionOriginalsRemoved: 0, retentionJobsDeleted: 0 });
    expect(await listed(video.key)).toEqual([video.key]);

    await letDaysPass(video.jobId, 1);
    // The queued job is as old, but a job not finished is never touched.
    await letDaysPass(running.jobId, 3);
    expect(await sweep()).toMatchObject({ retentionOriginalsRemoved: 1, retentionJobsDeleted: 0 });

    expect(await listed(video.prefix)).toEqual([
      metricsKey(video.key),
      `${framesPrefix(video.key)}000000.jpg`,
      `${framesPrefix(video.key)}000001.jpg`,
    ]);
    expect(await listed(running.key)).toEqual([running.key]);
    const after = await video.client.jobs.get.query({ jobId: video.jobId });
    expect(after).toMatchObject({ status: 'completed', originalRemovesAt: null, result: before.result });
    expect(after.originalRemovedAt).not.toBeNull();
    expect((await fetch(after.artifacts?.metricsUrl ?? '')).status).toBe(200);
    expect((await video.client.jobs.frames.query({ jobId: video.jobId, offset: 0, limit: 10 })).frames).toHaveLength(2);
    const listedJob = (await video.client.jobs.list.query({ sessionId: video.sessionId })).items[0];
    expect(listedJob?.originalRemovedAt).toBe(after.originalRemovedAt);

    const refusal = await video.client.jobs.videoUrl.query({ jobId: video.jobId }).catch((error: unknown) => error);
    expect(errorCodeOf(refusal)).toBe('ORIGINAL_REMOVED');
    expect(refusal).toMatchObject({ data: { httpStatus: 409 } });
    expect(await codeOf(running.client.jobs.videoUrl.query({ jobId: running.jobId }))).toBe('resolved');

    expect(await usedBytes(owner)).toBe(VIDEO_BYTES);
    const rows = await server.db.selectFrom('storageDeletions').selectAll().where('jobId', '=', video.jobId).execute();
    expect(rows).toEqual([
      expect.objectContaining({ scope: 'original', prefix: video.key, requestedBy: 'system:retention', objectsDeleted: 1 }),
    ]);
    // A later round decides nothing twice.
    expect(await sweep()).toMatchObject({ retentionOriginalsRemoved: 0 });
    expect(await usedBytes(owner)).toBe(VIDEO_BYTES);
  });

  it('deletes the whole video after M days, as jobs.delete does, and releases its bytes once', async () => {
    const owner = { ...coachA, userId: 'coach-retain-everything' };
    await server.clientFor(owner).retention.set.mutate({ deleteOriginalsAfterDays: 2, deleteEverythingAfterDays: 5 });
    const stripped = await storedVideo(owner);
    const whole = await storedVideo(owner);
    await letDaysPass(stripped.jobId, 3);
    await sweep();
    expect(await usedBytes(owner)).toBe(VIDEO_BYTES);

    await letDaysPass(stripped.jobId, 3);
    // Past both windows at once: deleted whole, not first stripped.
    await letDaysPass(whole.jobId, 6);
    expect(await sweep()).toMatchObject({ retentionJobsDeleted: 2, retentionOriginalsRemoved: 0 });

    for (const video of [stripped, whole]) {
      expect(await listed(video.prefix)).toEqual([]);
      expect(await findJob(server.db, { jobId: video.jobId })).toMatchObject({ status: 'deleted', result: null });
      // Each call's outcome is read as it settles: one batch's rejections are never left unhandled.
      const codes = await Promise.all(
        [
          video.client.jobs.get.query({ jobId: video.jobId }),
          video.client.jobs.videoUrl.query({ jobId: video.jobId }),
          video.client.jobs.frames.query({ jobId: video.jobId, offset: 0, limit: 1 }),
          video.client.jobs.delete.mutate({ jobId: video.jobId }),
          video.client.upload.complete.mutate({ jobId: video.jobId }),
        ].map(codeOf),
      );
      expect(codes).toEqual(Array(5).fill('JOB_NOT_FOUND'));
    }
    expect(await usedBytes(owner)).toBe(0);
    const rows = await server.db
      .selectFrom('storageDeletions')
      .select(['jobId', 'scope', 'requestedBy'])
      .where('jobId', 'in', [stripped.jobId, whole.jobId])
      .orderBy('requestedAt')
      .execute();
    expect(
      rows.map((row) => `${row.jobId === whole.jobId ? 'whole' : 'stripped'} ${row.scope} ${row.requestedBy}`).sort(),
    ).toEqual([
      'stripped everything system:retention',
      'stripped original system:retention',
      'whole everything system:retention',
    ]);

    // The owner's audit trail says what retention did to each, as the system's retention.
    const trail = await server.clientFor(owner).audit.list.query({ limit: 100 });
    const byRetention = trail.items
      .filter((entry) => entry.actor.kind === 'system' && entry.actor.id === 'retention')
      .map(
        (entry) => `${entry.target.id === whole.jobId ? 'whole' : 'stripped'} ${entry.action} ${String(entry.details.reason)}`,
      );
    expect(byRetention.sort()).toEqual([
      'stripped job.deleted retention',
      'stripped original.deleted retention',
      'whole job.deleted retention',
    ]);
  });

  it("never applies one owner's policy to another owner's videos, and applies the defaults to owners without one", async () => {
    const strict = { ...orgUserX1, orgId: 'org-retain-strict' };
    const lenient = { ...orgUserX1, orgId: 'org-retain-default' };
    const namesake = { ...coachA, userId: 'org-retain-strict' };
    await server.clientFor(strict).retention.set.mutate({ deleteOriginalsAfterDays: 1, deleteEverythingAfterDays: 2 });
    const videos = [await storedVideo(strict), await storedVideo(lenient), await storedVideo(namesake)];
    for (const video of videos) await letDaysPass(video.jobId, 3);

    expect(await sweep()).toMatchObject({ retentionJobsDeleted: 1, retentionOriginalsRemoved: 0 });
    const [gone, kept, keptToo] = videos as [(typeof videos)[0], (typeof videos)[0], (typeof videos)[0]];
    expect(await listed(gone.prefix)).toEqual([]);
    for (const video of [kept, keptToo]) {
      expect(await listed(video.key)).toEqual([video.key]);
      expect(await video.client.jobs.get.query({ jobId: video.jobId })).toMatchObject({ originalRemovedAt: null });
    }
    // The defaults (30 days for originals) reach the others in their own time.
    await letDaysPass(kept.jobId, 27);
    expect(await sweep()).toMatchObject({ retentionOriginalsRemoved: 1 });
    expect(await listed(kept.key)).toEqual([]);
    expect(await listed(keptToo.key)).toEqual([keptToo.key]);
  });

  it('keeps the videos of an owner who chose to keep them, however far past the defaults', async () => {
    const keeper = { ...coachA, userId: 'coach-retain-keeper' };
    const longer = { ...coachA, userId: 'coach-retain-longer' };
    await server.clientFor(keeper).retention.set.mutate({ deleteOriginalsAfterDays: null, deleteEverythingAfterDays: null });
    await server.clientFor(longer).retention.set.mutate({ deleteOriginalsAfterDays: 400, deleteEverythingAfterDays: 800 });
    const kept = [await storedVideo(keeper), await storedVideo(longer)];
    for (const video of kept) await letDaysPass(video.jobId, 399);
    await sweep();
    for (const video of kept) {
      expect(await listed(video.prefix)).toHaveLength(4);
      expect(await video.client.jobs.get.query({ jobId: video.jobId })).toMatchObject({ originalRemovedAt: null });
    }
    const [forever, later] = await Promise.all(kept.map((video) => video.client.jobs.get.query({ jobId: video.jobId })));
    expect(forever?.originalRemovesAt).toBeNull();
    expect(Date.parse(later?.originalRemovesAt ?? '')).toBe(Date.parse(later?.queuedAt ?? '') + 400 * DAY_MS);
  });

  it("removes the original again after the upload's deadline, when a still-valid PUT URL may have stored it anew", async () => {
    const owner = { ...coachA, userId: 'coach-retain-late-put' };
    await server.clientFor(owner).retention.set.mutate({ deleteOriginalsAfterDays: 1, deleteEverythingAfterDays: null });
    const video = await storedVideo(owner);
    await letDaysPass(video.jobId, 2);
    // The upload's deadline is still an hour away: a URL without create-only could still write the key.
    await sql`update video_analysis_jobs set upload_expires_at = now() + interval '1 hour' where id = ${video.jobId}`.execute(
      server.db,
    );
    expect(await sweep()).toMatchObject({ retentionOriginalsRemoved: 1 });
    expect(await listed(video.key)).toEqual([]);
    const row = await server.db
      .selectFrom('storageDeletions')
      .selectAll()
      .where('jobId', '=', video.jobId)
      .executeTakeFirstOrThrow();
    expect(row.doneAt).toBeNull();

    await server.storage.putObject(video.key, new Uint8Array(VIDEO_BYTES), 'video/mp4');
    // The deadline passes; the row falls due.
    await sql`update storage_deletions set repeat_until = now() - interval '1 minute', available_at = now() where id = ${row.id}`.execute(
      server.db,
    );
    await sweep();
    expect(await listed(video.key)).toEqual([]);
    expect(
      await server.db.selectFrom('storageDeletions').select('doneAt').where('id', '=', row.id).executeTakeFirstOrThrow(),
    ).not.toMatchObject({ doneAt: null });
  });

  it('commits the decision with its deletion row or not at all, and finishes the removal after a storage fault', async () => {
    const owner = { ...coachA, userId: 'coach-retain-faults' };
    await server.clientFor(owner).retention.set.mutate({ deleteOriginalsAfterDays: 1, deleteEverythingAfterDays: null });
    const video = await storedVideo(owner);
    await letDaysPass(video.jobId, 2);

    // The deciding transaction dies at its last statement (the deletion row): nothing of it stays.
    await sql`create function fail_original_deletion() returns trigger language plpgsql as $$
      begin raise exception 'injected: storage_deletions insert failed'; end $$`.execute(server.db);
    await sql`create trigger fail_original_deletion before insert on storage_deletions
      for each row when (new.scope = 'original') execute function fail_original_deletion()`.execute(server.db);
    try {
      await expect(sweep()).rejects.toThrow('injected');
    } finally {
      await sql`drop trigger fail_original_deletion on storage_deletions`.execute(server.db);
      await sql`drop function fail_original_deletion()`.execute(server.db);
    }
    expect(await findJob(server.db, { jobId: video.jobId })).toMatchObject({ originalRemovedAt: null, usageReleasedAt: null });
    expect(await usedBytes(owner)).toBe(VIDEO_BYTES);

    // Storage refuses the delete: the decision stands (no link is signed), the row waits with its error.
    let refusals = 0;
    const refusing: ObjectStorage = {
      ...server.storage,
      deleteKeys: () => {
        refusals += 1;
        return Promise.reject(new Error('injected: storage refused the delete'));
      },
    };
    expect(await sweep(refusing)).toMatchObject({ retentionOriginalsRemoved: 1, deletionFailures: 1 });
    expect(refusals).toBe(1);
    expect(await listed(video.key)).toEqual([video.key]);
    expect(await codeOf(video.client.jobs.videoUrl.query({ jobId: video.jobId }))).toBe('ORIGINAL_REMOVED');
    expect(await usedBytes(owner)).toBe(0);
    const pending = await server.db
      .selectFrom('storageDeletions')
      .selectAll()
      .where('jobId', '=', video.jobId)
      .executeTakeFirstOrThrow();
    expect(pending).toMatchObject({ scope: 'original', doneAt: null, lastError: 'injected: storage refused the delete' });

    // Its backoff over, the next round removes the key.
    await sql`update storage_deletions set available_at = now() where id = ${pending.id}`.execute(server.db);
    expect(await sweep()).toMatchObject({ retentionOriginalsRemoved: 0, deletionFailures: 0, objectsDeleted: 1 });
    expect(await listed(video.prefix)).toEqual([
      metricsKey(video.key),
      `${framesPrefix(video.key)}000000.jpg`,
      `${framesPrefix(video.key)}000001.jpg`,
    ]);
    expect(await usedBytes(owner)).toBe(0);
  });
});

describe('retention at scale', () => {
  it('two sweepers at once decide each original once, release each byte once, and leave the frames', async () => {
    const JOBS = 240;
    const owner = { ...coachA, userId: 'coach-retain-bulk' };
    const { sessionId } = await server.clientFor(owner).sessions.create.mutate({ title: 'Season', playerIds: [] });
    await server.clientFor(owner).retention.set.mutate({ deleteOriginalsAfterDays: 1, deleteEverythingAfterDays: null });
    const jobs = await inParallel(JOBS, 8, async () => {
      const job = newJobParams(sessionId, ownerOf(owner));
      await insertJobForOwnedSession(server.db, job);
      await server.storage.putObject(job.s3Key, new Uint8Array(10), 'video/mp4');
      await server.storage.putObject(`${framesPrefix(job.s3Key)}000000.jpg`, new Uint8Array(10), 'image/jpeg');
      return job;
    });
    // Finished two days ago, each holding 1,000 bytes of the quota (no usage row yet, so the trigger counted nothing).
    await sql`update video_analysis_jobs
      set status = 'completed', size_bytes = 1000, queued_at = now() - interval '2 days', created_at = now() - interval '2 days',
        upload_expires_at = now() - interval '2 days'
      where session_id = ${sessionId}`.execute(server.db);
    await sql`insert into owner_usage (owner_type, owner_id, used_bytes) values ('coach', ${owner.userId}, ${JOBS * 1000})
      on conflict (owner_type, owner_id) do update set used_bytes = excluded.used_bytes`.execute(server.db);

    let rounds = 0;
    let decided = 0;
    const pendingRows = async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from storage_deletions d
        join video_analysis_jobs j on j.id = d.job_id where j.session_id = ${sessionId} and d.done_at is null`.execute(server.db);
      return rows[0]?.n ?? 0;
    };
    do {
      const reports = await Promise.all([sweep(), sweep()]);
      decided += reports.reduce((sum, report) => sum + report.retentionOriginalsRemoved, 0);
      rounds += 1;
    } while ((decided < JOBS || (await pendingRows()) > 0) && rounds < 10);

    expect(decided).toBe(JOBS);
    // Each sweep decides up to its batch (100): 240 take two rounds of two sweepers.
    expect(rounds).toBeLessThanOrEqual(3);
    const { rows } = await sql<{ job_id: string; n: number }>`select d.job_id, count(*)::int as n from storage_deletions d
      join video_analysis_jobs j on j.id = d.job_id where j.session_id = ${sessionId} group by d.job_id`.execute(server.db);
    expect(rows).toHaveLength(JOBS);
    expect(rows.every((row) => row.n === 1)).toBe(true);
    expect(await usedBytes(owner)).toBe(0);
    const stored = await server.storage.listKeys(`coach_plus/coach/${owner.userId}/${sessionId}/`);
    expect(stored).toHaveLength(JOBS);
    expect(stored.every((key) => key.endsWith('/frames/000000.jpg'))).toBe(true);
    expect(jobs).toHaveLength(JOBS);
  });
});
