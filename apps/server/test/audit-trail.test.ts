import { randomBytes, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createClient, errorCodeOf, type ApiClient, type RouterOutputs } from '@coach/client';
import { insertStorageDeletions, markSessionDeleted, setOwnerQuota, sql, type Owner } from '@coach/db';
import { sessionPrefix, silentLogger } from '@coach/jobs';
import { createUploadEventHandler, sweepOnce } from '@coach/worker';

import { markJobCompleted } from '../../../test/helpers/completed-job.ts';
import type { Identity } from '../../../test/helpers/identities.ts';
import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { sweeperOptionsFor } from '../../../test/helpers/sweep.ts';
import { putUrl } from '../../../test/helpers/upload.ts';

type AuditEvent = RouterOutputs['audit']['list']['items'][number];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

// Every test has owners of its own, so the shared server's trail of one never holds another test's entries.
const newCoach = (): Identity => ({ userId: `coach-${randomUUID()}`, role: 'coach_pro_plus', orgId: null, features: null });
const newOrg = () => {
  const orgId = `org-${randomUUID()}`;
  const staff = (n: number): Identity => ({ userId: `${orgId}-staff-${n}`, role: 'org_pro', orgId, features: null });
  return { orgId, staff1: staff(1), staff2: staff(2) };
};
const coachOwner = (identity: Identity): Owner => ({ type: 'coach', id: identity.userId });

/** Every entry the client may read, newest first, walking every page. */
async function trail(client: ApiClient, filter: { action?: AuditEvent['action']; targetId?: string } = {}) {
  const items: AuditEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.audit.list.query({ ...filter, limit: 100, cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** Every stored entry of an owner, as Postgres prints each column. */
async function storedRows(owner: Owner) {
  const { rows } = await sql<Record<string, unknown>>`
    select *, details::text as details_text from audit_events where owner_type = ${owner.type} and owner_id = ${owner.id}
    order by id`.execute(server.db);
  return rows;
}

/** Initiates and PUTs a file of `size` random bytes (not completed). */
async function landedUpload(client: ApiClient, sessionId: string, size = 2048) {
  const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: size });
  const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: randomBytes(size) });
  expect(put.status).toBe(200);
  return upload;
}

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => 'answered',
    (error: unknown) => errorCodeOf(error),
  );

describe('what the trail records, once per action', () => {
  it('records a coach creating, uploading, completing, signing links, deleting: one entry each, with actor, owner and target', async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const user = { kind: 'user', id: coach.userId };
    const owner = { ownerType: 'coach', ownerId: coach.userId };

    const session = await client.sessions.create.mutate({ title: 'Secret nets title', playerIds: ['player-77', 'player-78'] });
    const upload = await landedUpload(client, session.sessionId);
    await client.upload.complete.mutate({ jobId: upload.jobId });
    await client.upload.complete.mutate({ jobId: upload.jobId }); // a repeat completes nothing
    await client.jobs.videoUrl.query({ jobId: upload.jobId });
    await markJobCompleted(server.db, { jobId: upload.jobId, s3Key: upload.s3Key, frameCount: 3 });
    await client.jobs.get.query({ jobId: upload.jobId });
    await client.jobs.frames.query({ jobId: upload.jobId, offset: 1, limit: 2 });
    await client.jobs.frames.query({ jobId: upload.jobId, offset: 3 }); // past the last frame: no link, no entry
    const aborted = await client.upload.initiate.mutate({ sessionId: session.sessionId, sizeBytes: 100 });
    await client.upload.abort.mutate({ jobId: aborted.jobId });
    await client.upload.abort.mutate({ jobId: aborted.jobId }); // a repeat aborts nothing
    await client.jobs.delete.mutate({ jobId: upload.jobId });

    const job = { sessionId: session.sessionId };
    expect((await trail(client)).reverse()).toEqual([
      expect.objectContaining({
        ...owner,
        actor: user,
        action: 'session.created',
        target: { type: 'session', id: session.sessionId },
        details: { playerCount: 2 },
      }),
      expect.objectContaining({
        ...owner,
        ...job,
        actor: user,
        action: 'upload.initiated',
        target: { type: 'job', id: upload.jobId },
        details: { contentType: 'video/mp4', declaredSizeBytes: 2048, uploadMode: 'single' },
      }),
      expect.objectContaining({
        ...job,
        actor: user,
        action: 'upload.completed',
        target: { type: 'job', id: upload.jobId },
        details: { sizeBytes: 2048 },
      }),
      expect.objectContaining({
        action: 'link.signed',
        target: { type: 'job', id: upload.jobId },
        details: { artifacts: ['original'], frameCount: 0, expiresInSeconds: server.config.downloadUrlExpiresSeconds },
      }),
      expect.objectContaining({
        action: 'link.signed',
        details: expect.objectContaining({ artifacts: ['metrics', 'frames'], frameCount: 3 }),
      }),
      expect.objectContaining({
        action: 'link.signed',
        details: expect.objectContaining({ artifacts: ['frames'], frameCount: 2 }),
      }),
      expect.objectContaining({ action: 'upload.initiated', target: { type: 'job', id: aborted.jobId } }),
      expect.objectContaining({ ...job, actor: user, action: 'upload.aborted', target: { type: 'job', id: aborted.jobId } }),
      expect.objectContaining({
        ...job,
        actor: user,
        action: 'job.deleted',
        target: { type: 'job', id: upload.jobId },
        details: { previousStatus: 'completed' },
      }),
    ]);
  });

  it('names the worker when the upload-events consumer or the sweeper completes an upload, and records a rejection', async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const { sessionId } = await client.sessions.create.mutate({ title: 'Nets', playerIds: [] });
    const workerDeps = {
      db: server.db,
      storage: server.storage,
      logger: silentLogger,
      maxUploadBytes: server.config.maxUploadBytes,
    };

    const byEvent = await landedUpload(client, sessionId);
    const handle = createUploadEventHandler(workerDeps);
    const notification = JSON.stringify({
      Records: [
        {
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: server.bucket }, object: { key: byEvent.s3Key, size: 2048 } },
        },
      ],
    });
    const context = { signal: new AbortController().signal, extendVisibility: async () => {} };
    await handle({ messageId: randomUUID(), receiptHandle: 'direct', body: notification, receiveCount: 1 }, context);

    const bySweeper = await landedUpload(client, sessionId);
    const refused = await client.upload.initiate.mutate({ sessionId, sizeBytes: 4096 });
    // Not what was declared: the completion rejects it.
    await server.storage.putObject(refused.s3Key, new Uint8Array(10), 'video/mp4');
    await sql`update video_analysis_jobs set upload_expires_at = now() - interval '2 hours'
      where id in (${bySweeper.jobId}, ${refused.jobId})`.execute(server.db);
    await sweepOnce(sweeperOptionsFor(server));

    const decisions = await trail(client, { action: 'upload.completed' });
    expect(decisions.map((e) => [e.target.id, e.actor])).toEqual([
      [bySweeper.jobId, { kind: 'system', id: 'sweeper' }],
      [byEvent.jobId, { kind: 'system', id: 'upload-events' }],
    ]);
    expect(await trail(client, { action: 'upload.rejected' })).toEqual([
      expect.objectContaining({
        actor: { kind: 'system', id: 'sweeper' },
        target: { type: 'job', id: refused.jobId },
        details: { sizeBytes: 10, errorCode: expect.any(String) },
      }),
    ]);
  });

  it("names the sweeper when it deletes a job whose initiate raced its session's deletion", async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const owner = coachOwner(coach);
    const { sessionId } = await client.sessions.create.mutate({ title: 'Nets', playerIds: [] });
    const raced = await client.upload.initiate.mutate({ sessionId, sizeBytes: 100 });
    // What a deletion that committed just before the initiate's insert leaves: the session deleted, its job not.
    await markSessionDeleted(server.db, { owner, sessionId });
    await insertStorageDeletions(server.db, [
      {
        target: { sessionId },
        scope: 'everything',
        prefix: sessionPrefix({ owner, sessionId }),
        multipartUploadId: null,
        repeatUntil: null,
        requestedBy: coach.userId,
      },
    ]);
    await sweepOnce(sweeperOptionsFor(server));
    expect(await trail(client, { action: 'job.deleted' })).toEqual([
      expect.objectContaining({
        actor: { kind: 'system', id: 'sweeper' },
        target: { type: 'job', id: raced.jobId },
        sessionId,
        details: { previousStatus: 'awaiting_upload', reason: 'session-deleted' },
      }),
    ]);
  });

  it("names a service key by its own id (not its creator's) for what it does", async () => {
    const { staff1 } = newOrg();
    const staff = server.clientFor(staff1);
    const key = await staff.serviceKeys.create.mutate({ name: 'club system', scopes: ['sessions:write', 'audit:read'] });
    const service = createClient({ url: server.trpcUrl, token: key.secret });
    const session = await service.sessions.create.mutate({ title: 'From the club', playerIds: [] });
    expect(await trail(service)).toEqual([
      expect.objectContaining({
        actor: { kind: 'service_key', id: key.keyId },
        action: 'session.created',
        target: { type: 'session', id: session.sessionId },
      }),
    ]);
  });
});

describe('entries outlive what they describe, and keep none of its content', () => {
  it('keeps every entry after sessions.delete and erasePlayer; no title, player id or storage key is stored', async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const title = `Title ${randomUUID()}`;
    const erased = `player-${randomUUID()}`;
    const kept = `player-${randomUUID()}`;
    const alone = await client.sessions.create.mutate({ title, playerIds: [erased] });
    const shared = await client.sessions.create.mutate({ title, playerIds: [erased, kept] });
    const other = await client.sessions.create.mutate({ title, playerIds: [kept] });
    const aloneJob = await landedUpload(client, alone.sessionId);
    await client.upload.complete.mutate({ jobId: aloneJob.jobId });
    const otherJob = await client.upload.initiate.mutate({ sessionId: other.sessionId, sizeBytes: 100 });
    const before = await trail(client);

    const report = await client.sessions.erasePlayer.mutate({ playerId: erased });
    const deletion = await client.sessions.delete.mutate({ sessionId: other.sessionId });

    const after = await trail(client);
    expect(after.slice(2)).toEqual(before);
    expect(after[1]).toMatchObject({
      actor: { kind: 'user', id: coach.userId },
      action: 'player.erased',
      target: { type: 'player', id: null },
      sessionId: null,
      details: {
        sessionsUpdated: [shared.sessionId],
        sessionsDeleted: [alone.sessionId],
        jobIds: [aloneJob.jobId],
        sessionsUpdatedCount: 1,
        sessionsDeletedCount: 1,
        jobsDeletedCount: 1,
      },
    });
    expect(report.sessionsDeleted).toEqual([alone.sessionId]);
    expect(after[0]).toMatchObject({
      action: 'session.deleted',
      target: { type: 'session', id: other.sessionId },
      details: { jobIds: deletion.jobsDeleted.map((j) => j.jobId) },
    });
    expect(deletion.jobsDeleted.map((j) => j.jobId)).toEqual([otherJob.jobId]);

    const stored = JSON.stringify(await storedRows(coachOwner(coach)));
    for (const content of [title, erased, kept, aloneJob.s3Key, otherJob.s3Key]) expect(stored).not.toContain(content);
  });

  it('is append-only: the database refuses to change or remove an entry, whoever asks', async () => {
    const coach = newCoach();
    await server.clientFor(coach).sessions.create.mutate({ title: 'Nets', playerIds: [] });
    const where = sql`owner_type = 'coach' and owner_id = ${coach.userId}`;
    for (const statement of [
      sql`update audit_events set actor_id = 'someone-else' where ${where}`,
      sql`update audit_events set details = '{}'::jsonb where ${where}`,
      sql`delete from audit_events where ${where}`,
    ]) {
      await expect(statement.execute(server.db)).rejects.toMatchObject({
        code: '42501',
        message: expect.stringContaining('append-only'),
      });
    }
    expect(await storedRows(coachOwner(coach))).toHaveLength(1);
  });
});

describe('a refused action writes nothing', () => {
  it('records nothing for a foreign session or job, a full quota, a repeated initiate or a missing upload', async () => {
    const coach = newCoach();
    const stranger = newCoach();
    const client = server.clientFor(coach);
    const strangers = server.clientFor(stranger);
    const theirs = await strangers.sessions.create.mutate({ title: 'Theirs', playerIds: ['p1'] });
    const theirJob = await strangers.upload.initiate.mutate({ sessionId: theirs.sessionId, sizeBytes: 100 });
    const strangerEntries = await storedRows(coachOwner(stranger));

    const mine = await client.sessions.create.mutate({ title: 'Mine', playerIds: [] });
    const first = await client.upload.initiate.mutate({
      sessionId: mine.sessionId,
      sizeBytes: 100,
      clientRequestId: 'retry-0001',
    });
    const countBefore = (await storedRows(coachOwner(coach))).length;

    const refusals = [
      client.upload.initiate.mutate({ sessionId: theirs.sessionId, sizeBytes: 100 }),
      client.upload.complete.mutate({ jobId: theirJob.jobId }),
      client.upload.abort.mutate({ jobId: theirJob.jobId }),
      client.jobs.videoUrl.query({ jobId: theirJob.jobId }),
      client.jobs.delete.mutate({ jobId: theirJob.jobId }),
      client.sessions.delete.mutate({ sessionId: theirs.sessionId }),
      client.upload.complete.mutate({ jobId: first.jobId }), // nothing stored yet: UPLOAD_NOT_FOUND
      client.jobs.videoUrl.query({ jobId: first.jobId }), // not landed: VIDEO_NOT_AVAILABLE
    ];
    expect(await Promise.all(refusals.map(codeOf))).toEqual([
      'SESSION_NOT_FOUND',
      'JOB_NOT_FOUND',
      'JOB_NOT_FOUND',
      'JOB_NOT_FOUND',
      'JOB_NOT_FOUND',
      'SESSION_NOT_FOUND',
      'UPLOAD_NOT_FOUND',
      'VIDEO_NOT_AVAILABLE',
    ]);
    // A repeat with the same clientRequestId answers the first job and starts nothing.
    await expect(
      client.upload.initiate.mutate({ sessionId: mine.sessionId, sizeBytes: 100, clientRequestId: 'retry-0001' }),
    ).resolves.toMatchObject({ jobId: first.jobId });

    await setOwnerQuota(server.db, { owner: coachOwner(coach), quotaBytes: 150 });
    await expect(codeOf(client.upload.initiate.mutate({ sessionId: mine.sessionId, sizeBytes: 100 }))).resolves.toBe(
      'QUOTA_EXCEEDED',
    );

    expect(await storedRows(coachOwner(coach))).toHaveLength(countBefore);
    expect(await storedRows(coachOwner(stranger))).toEqual(strangerEntries);
  });
});

describe('audit.list: who may read which trail', () => {
  it('shows a coach their own, org staff and keys with audit:read their org’s, and no one another owner’s', async () => {
    const coach = newCoach();
    const otherCoach = newCoach();
    const orgX = newOrg();
    const orgY = newOrg();
    // A coach whose user id is org X's id must not see org X's trail (owner types differ).
    const coachNamedLikeOrgX: Identity = { userId: orgX.orgId, role: 'coach_pro_plus', orgId: null, features: null };
    const coachSession = await server.clientFor(coach).sessions.create.mutate({ title: 'C', playerIds: [] });
    const staff1Session = await server.clientFor(orgX.staff1).sessions.create.mutate({ title: 'X1', playerIds: [] });
    const staff2Session = await server.clientFor(orgX.staff2).sessions.create.mutate({ title: 'X2', playerIds: [] });
    await server.clientFor(orgY.staff1).sessions.create.mutate({ title: 'Y', playerIds: [] });
    await server.clientFor(otherCoach).sessions.create.mutate({ title: 'O', playerIds: [] });

    const staff = server.clientFor(orgX.staff1);
    const reader = await staff.serviceKeys.create.mutate({ name: 'auditor', scopes: ['audit:read'] });
    const writer = await staff.serviceKeys.create.mutate({
      name: 'writer',
      scopes: ['sessions:read', 'sessions:write', 'uploads:write', 'jobs:read'],
    });
    const keyClient = (secret: string) => createClient({ url: server.trpcUrl, token: secret });
    const targets = async (client: ApiClient) => (await trail(client)).map((e) => e.target.id);

    expect(await targets(server.clientFor(coach))).toEqual([coachSession.sessionId]);
    const orgXTrail = [staff2Session.sessionId, staff1Session.sessionId];
    expect(await targets(server.clientFor(orgX.staff1))).toEqual(orgXTrail);
    expect(await targets(server.clientFor(orgX.staff2))).toEqual(orgXTrail);
    expect(await targets(keyClient(reader.secret))).toEqual(orgXTrail);
    for (const outsider of [otherCoach, orgY.staff1, coachNamedLikeOrgX]) {
      const seen = await targets(server.clientFor(outsider));
      for (const id of [coachSession.sessionId, ...orgXTrail]) expect(seen, outsider.userId).not.toContain(id);
    }
    expect(await targets(server.clientFor(coachNamedLikeOrgX))).toEqual([]);

    await expect(codeOf(keyClient(writer.secret).audit.list.query())).resolves.toBe('INSUFFICIENT_SCOPE');
    const freeUser: Identity = { userId: `free-${randomUUID()}`, role: 'coach_free', orgId: null, features: null };
    await expect(codeOf(server.clientFor(freeUser).audit.list.query())).resolves.toBe('ROLE_NOT_ALLOWED');
    await expect(codeOf(createClient({ url: server.trpcUrl }).audit.list.query())).resolves.toBe('UNAUTHENTICATED');
    // Filtering by another owner's target finds nothing either.
    await expect(server.clientFor(otherCoach).audit.list.query({ targetId: coachSession.sessionId })).resolves.toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('answers over REST at GET /api/v1/audit with the same page, and refuses a bad cursor or action', async () => {
    const coach = newCoach();
    const session = await server.clientFor(coach).sessions.create.mutate({ title: 'Nets', playerIds: [] });
    const token = await server.tokenFor(coach);
    const get = (query: string) =>
      fetch(`${server.url}/api/v1/audit${query}`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { items?: AuditEvent[]; error?: { data: { appCode: string } } },
      }));
    const ok = await get(`?action=session.created&targetId=${session.sessionId}`);
    expect(ok.status).toBe(200);
    expect(ok.body.items?.map((e) => e.target.id)).toEqual([session.sessionId]);
    for (const [query, code] of [
      ['?cursor=not-a-cursor', 'INVALID_CURSOR'],
      ['?action=session.renamed', 'INVALID_INPUT'],
      ['?limit=101', 'INVALID_INPUT'],
    ] as const) {
      const refused = await get(query);
      expect(refused.status, query).toBe(400);
      expect(refused.body.error?.data.appCode, query).toBe(code);
    }
  });
});

describe('audit.list pages', () => {
  it('returns every entry exactly once across pages, newest first, while new entries are added', async () => {
    const coach = newCoach();
    const client = server.clientFor(coach);
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await client.sessions.create.mutate({ title: `S${i}`, playerIds: [] })).sessionId);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.audit.list.query({ limit: 3, cursor });
      seen.push(...page.items.map((e) => e.target.id ?? ''));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
      // Newer entries land while the walk goes on: they belong before its first page, never in it.
      await client.sessions.create.mutate({ title: `during ${pages}`, playerIds: [] });
    } while (cursor);

    expect(seen).toEqual([...created].reverse());
    expect(pages).toBe(3);
    expect(await client.audit.list.query({ limit: 100 })).toMatchObject({ nextCursor: null });
    expect((await trail(client)).length).toBe(7 + pages);
  });
});
