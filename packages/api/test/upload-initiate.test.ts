import { describe, expect, it } from 'vitest';

import type { Identity, RouterInputs } from '@coach/api';
import { sql } from '@coach/db';

import { testConfig, useCallerTests } from '../../../test/helpers/api.ts';
import {
  anonymous,
  coachA,
  coachB,
  coachNamedLikeOrg,
  coachWithoutUpload,
  freeUser,
  issueServiceKey,
  orgUserX1,
  orgUserX2,
  orgUserY,
  signedIn,
} from '../../../test/helpers/identities.ts';

const t = useCallerTests();

type InitiateInput = RouterInputs['upload']['initiate'];

const missingSessionId = '00000000-0000-4000-8000-000000000000';

async function createSession(owner: Identity) {
  return t.api.callerFor(signedIn(owner)).sessions.create({ title: 'Bowling drills', playerIds: ['p1'] });
}

const jobRows = () => t.testDb.db.selectFrom('videoAnalysisJobs').selectAll().execute();

describe('upload.initiate', () => {
  it('creates an awaiting_upload job and a presigned PUT for a coach session', async () => {
    const session = await createSession(coachA);
    const input: InitiateInput = {
      sessionId: session.sessionId,
      sampleFps: 12,
      includeFrames: true,
      contentType: 'video/mp4',
      sizeBytes: 5_000_000,
    };
    const before = Date.now();
    const upload = await t.api.callerFor(signedIn(coachA)).upload.initiate(input);
    const after = Date.now();

    const row = await t.testDb.db.selectFrom('videoAnalysisJobs').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      id: upload.jobId,
      sessionId: session.sessionId,
      ownerType: 'coach',
      ownerId: 'coach-a',
      createdBy: 'coach-a',
      videoId: upload.videoId,
      status: 'awaiting_upload',
      sampleFps: 12,
      includeFrames: true,
      s3Bucket: 'test-bucket',
      s3Key: upload.s3Key,
      contentType: 'video/mp4',
      declaredSizeBytes: 5_000_000,
      sizeBytes: null,
      sqsMessageId: null,
      queuedAt: null,
    });
    // The key is built from the owner recorded on the session row, never from input.
    expect(upload.s3Key).toBe(`coach_plus/${row.ownerType}/${row.ownerId}/${row.sessionId}/${row.videoId}/original.mp4`);
    expect(upload.s3Key).toBe(`coach_plus/coach/coach-a/${session.sessionId}/${upload.videoId}/original.mp4`);

    // The upload's deadline is the idle window from now; the URL lives its own, shorter, lifetime.
    const idleMs = testConfig.uploadIdleWindowSeconds * 1000;
    expect(row.uploadExpiresAt.getTime()).toBeGreaterThanOrEqual(before + idleMs);
    expect(row.uploadExpiresAt.getTime()).toBeLessThanOrEqual(after + idleMs);
    const urlMs = testConfig.uploadUrlExpiresSeconds * 1000;
    expect(Date.parse(upload.expiresAt)).toBeGreaterThanOrEqual(before + urlMs);
    expect(Date.parse(upload.expiresAt)).toBeLessThanOrEqual(after + urlMs);

    expect(upload).toEqual({
      jobId: row.id,
      sessionId: session.sessionId,
      videoId: row.videoId,
      status: 'awaiting_upload',
      uploadMode: 'single',
      presignedUrl: `https://storage.test/test-bucket/${row.s3Key}?sig=1`,
      method: 'PUT',
      headers: { 'content-type': 'video/mp4' },
      multipart: null,
      expiresIn: testConfig.uploadUrlExpiresSeconds,
      expiresAt: expect.stringMatching(/Z$/) as string,
      uploadExpiresAt: row.uploadExpiresAt.toISOString(),
      s3Bucket: 'test-bucket',
      s3Key: row.s3Key,
      maxSizeBytes: testConfig.maxUploadBytes,
    });

    expect(t.api.storage.presigned).toEqual([
      {
        key: row.s3Key,
        contentType: 'video/mp4',
        contentLength: 5_000_000,
        expiresInSeconds: testConfig.uploadUrlExpiresSeconds,
        // Create-only: only the first version's URLs leave If-None-Match out.
        createOnly: true,
      },
    ]);
  });

  it('files an org session’s upload under the organisation, whichever staff member starts it', async () => {
    const session = await createSession(orgUserX1);
    const upload = await t.api.callerFor(signedIn(orgUserX2)).upload.initiate({
      sessionId: session.sessionId,
      contentType: 'video/quicktime',
      sizeBytes: 1234,
    });
    const row = await t.testDb.db
      .selectFrom('videoAnalysisJobs')
      .selectAll()
      .where('id', '=', upload.jobId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      ownerType: 'org',
      ownerId: 'org-x',
      createdBy: 'org-x-staff-2',
      status: 'awaiting_upload',
      contentType: 'video/quicktime',
      declaredSizeBytes: 1234,
    });
    expect(upload.s3Key).toBe(`coach_plus/org/org-x/${session.sessionId}/${row.videoId}/original.mov`);
    expect(t.api.storage.presigned).toEqual([
      expect.objectContaining({ key: upload.s3Key, contentType: 'video/quicktime', contentLength: 1234 }),
    ]);
  });

  it.each([
    ['video/mp4', 'mp4'],
    ['video/quicktime', 'mov'],
    ['video/webm', 'webm'],
    ['video/3gpp', '3gp'],
  ] as const)('stores %s uploads with the .%s extension', async (contentType, ext) => {
    const session = await createSession(coachA);
    const upload = await t.api
      .callerFor(signedIn(coachA))
      .upload.initiate({ sessionId: session.sessionId, contentType, sizeBytes: 1000 });
    expect(upload.s3Key).toBe(`coach_plus/coach/coach-a/${session.sessionId}/${upload.videoId}/original.${ext}`);
    expect(upload.headers).toEqual({ 'content-type': contentType });
    const [row] = await jobRows();
    expect(row).toMatchObject({ contentType, s3Key: upload.s3Key });
  });

  it('defaults to video/mp4, 10 fps and no frames', async () => {
    const session = await createSession(coachA);
    const upload = await t.api.callerFor(signedIn(coachA)).upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 });
    const [row] = await jobRows();
    expect(row).toMatchObject({
      id: upload.jobId,
      contentType: 'video/mp4',
      sampleFps: 10,
      includeFrames: false,
      declaredSizeBytes: 1000,
    });
    expect(upload.s3Key.endsWith('/original.mp4')).toBe(true);
    expect(t.api.storage.presigned).toHaveLength(1);
    expect(t.api.storage.presigned[0]).toMatchObject({ contentType: 'video/mp4', contentLength: 1000 });
  });

  it('stores where the coach tapped the player on the first frame, and nothing when they did not', async () => {
    const session = await createSession(coachA);
    const caller = t.api.callerFor(signedIn(coachA));
    const tapped = await caller.upload.initiate({
      sessionId: session.sessionId,
      sizeBytes: 1000,
      subjectHint: { x: 0.864, y: 0.48 },
    });
    const plain = await caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 });
    const rows = await jobRows();
    expect(rows.find((r) => r.id === tapped.jobId)).toMatchObject({ subjectHintX: 0.864, subjectHintY: 0.48 });
    expect(rows.find((r) => r.id === plain.jobId)).toMatchObject({ subjectHintX: null, subjectHintY: null });
  });

  it('gives every upload its own job, video id and key', async () => {
    const session = await createSession(coachA);
    const caller = t.api.callerFor(signedIn(coachA));
    const first = await caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 });
    const second = await caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 });
    expect(new Set([first.jobId, second.jobId]).size).toBe(2);
    expect(new Set([first.videoId, second.videoId]).size).toBe(2);
    expect(first.s3Key).not.toBe(second.s3Key);
    expect(await jobRows()).toHaveLength(2);
  });

  it('refuses anonymous callers, invalid tokens, other roles and disabled features with distinct codes', async () => {
    const session = await createSession(coachA);
    const input: InitiateInput = { sessionId: session.sessionId, sizeBytes: 1000 };

    await expect(t.api.callerFor(anonymous).upload.initiate(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(t.api.callerFor({ status: 'invalid', reason: 'TOKEN_INVALID' }).upload.initiate(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'TOKEN_INVALID' },
    });
    await expect(t.api.callerFor(signedIn(freeUser)).upload.initiate(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    // The session's own coach, but on a plan without upload: a feature error, not a role error.
    const disabled = await t.api
      .callerFor(signedIn(coachWithoutUpload))
      .upload.initiate(input)
      .catch((e: unknown) => e);
    expect(disabled).toMatchObject({ code: 'FORBIDDEN', cause: { code: 'FEATURE_DISABLED' } });
    expect((disabled as Error).message).toContain('video_upload_enabled');
    // An explicit empty feature list is also "no upload".
    await expect(t.api.callerFor(signedIn({ ...coachA, features: [] })).upload.initiate(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'FEATURE_DISABLED' },
    });

    expect(await jobRows()).toHaveLength(0);
    expect(t.api.storage.presigned).toHaveLength(0);
  });

  it('accepts a features claim that includes video upload', async () => {
    const session = await createSession(coachA);
    const upload = await t.api
      .callerFor(signedIn({ ...coachA, features: ['analytics', 'video_upload_enabled'] }))
      .upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 });
    expect(upload.status).toBe('awaiting_upload');
    expect(await jobRows()).toHaveLength(1);
  });

  it("answers another owner's session exactly like a missing one, and writes nothing", async () => {
    const coachSession = await createSession(coachA);
    const orgSession = await createSession(orgUserX1);

    const missing = await t.api
      .callerFor(signedIn(coachA))
      .upload.initiate({ sessionId: missingSessionId, sizeBytes: 10 })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', cause: { code: 'SESSION_NOT_FOUND' } });

    for (const [who, sessionId] of [
      [coachB, coachSession.sessionId],
      [orgUserY, orgSession.sessionId],
      [orgUserX1, coachSession.sessionId],
      [coachNamedLikeOrg, orgSession.sessionId],
    ] as const) {
      const error = await t.api
        .callerFor(signedIn(who))
        .upload.initiate({ sessionId, sizeBytes: 10 })
        .catch((e: unknown) => e);
      expect(error, `${who.userId} on ${sessionId}`).toMatchObject({
        code: 'NOT_FOUND',
        message: (missing as Error).message,
        cause: { code: 'SESSION_NOT_FOUND' },
      });
    }
    expect(await jobRows()).toHaveLength(0);
  });

  it.each([
    [{ sampleFps: 0 }, 'sampleFps'],
    [{ sampleFps: 31 }, 'sampleFps'],
    [{ sampleFps: 1.5 }, 'sampleFps'],
    [{ contentType: 'video/avi' }, 'contentType'],
    [{ contentType: 'image/png' }, 'contentType'],
    [{ sizeBytes: undefined }, 'sizeBytes'],
    [{ sizeBytes: 0 }, 'sizeBytes'],
    [{ sizeBytes: -1 }, 'sizeBytes'],
    [{ sizeBytes: 10.5 }, 'sizeBytes'],
    [{ includeFrames: 'yes' }, 'includeFrames'],
    [{ subjectHint: { x: 1.2, y: 0.5 } }, 'subjectHint.x'],
    [{ subjectHint: { x: 0.5, y: -0.1 } }, 'subjectHint.y'],
    [{ subjectHint: { x: 0.5 } }, 'subjectHint.y'],
    [{ subjectHint: { x: 0.5, y: 0.5, z: 1 } }, 'subjectHint'],
    [{ sessionId: 'not-a-uuid' }, 'sessionId'],
    [{ sessionId: '../../etc/passwd' }, 'sessionId'],
    [{ ownerId: 'someone-else' }, ''],
    [{ s3Key: 'coach_plus/coach/coach-b/x' }, ''],
  ])('rejects bad input %j naming the field %s, writing and signing nothing', async (bad, field) => {
    const session = await createSession(coachA);
    const error = await t.api
      .callerFor(signedIn(coachA))
      .upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000, ...bad } as InitiateInput)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const issues = (error as { cause: { issues: { path: PropertyKey[] }[] } }).cause.issues;
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
    expect(await jobRows()).toHaveLength(0);
    expect(t.api.storage.presigned).toHaveLength(0);
  });

  it('rejects a declared size above the limit as PAYLOAD_TOO_LARGE before signing anything', async () => {
    const session = await createSession(coachA);
    const error = await t.api
      .callerFor(signedIn(coachA))
      .upload.initiate({ sessionId: session.sessionId, sizeBytes: testConfig.maxUploadBytes + 1 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', cause: { code: 'FILE_TOO_LARGE' } });
    expect((error as Error).message).toContain('100 MiB');
    expect(await jobRows()).toHaveLength(0);
    expect(t.api.storage.presigned).toHaveLength(0);
  });

  it('accepts a declared size exactly at the limit', async () => {
    const session = await createSession(coachA);
    await t.api
      .callerFor(signedIn(coachA))
      .upload.initiate({ sessionId: session.sessionId, sizeBytes: testConfig.maxUploadBytes });
    const [row] = await jobRows();
    expect(row?.declaredSizeBytes).toBe(testConfig.maxUploadBytes);
  });

  it('answers a signing outage with SERVICE_UNAVAILABLE and leaves no orphan job', async () => {
    const session = await createSession(coachA);
    t.api.storage.fail.add('presignPut');
    const error = await t.api
      .callerFor(signedIn(coachA))
      .upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', cause: { code: 'SERVICE_UNAVAILABLE' } });
    // Says nothing of the storage provider's internals.
    expect((error as Error).message).not.toMatch(/presign|aws|s3/i);
    expect(await jobRows()).toHaveLength(0);

    t.api.storage.fail.delete('presignPut');
    await t.api.callerFor(signedIn(coachA)).upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 });
    expect(await jobRows()).toHaveLength(1);
  });
});

describe('upload.initiate with a service key', () => {
  it("uploads into its org's sessions under the org, never into another owner's, and only with uploads:write", async () => {
    const key = await issueServiceKey(t.api, orgUserX1, ['uploads:write']);
    const service = t.api.callerFor(await key.auth());
    const own = await createSession(orgUserX2);
    const upload = await service.upload.initiate({ sessionId: own.sessionId, sizeBytes: 100 });
    expect(upload.s3Key).toMatch(new RegExp(`^coach_plus/org/org-x/${own.sessionId}/`));
    expect(await jobRows()).toEqual([
      expect.objectContaining({ id: upload.jobId, ownerType: 'org', ownerId: 'org-x', createdBy: `service:${key.keyId}` }),
    ]);

    for (const foreign of [await createSession(orgUserY), await createSession(coachNamedLikeOrg)]) {
      await expect(service.upload.initiate({ sessionId: foreign.sessionId, sizeBytes: 100 })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        cause: { code: 'SESSION_NOT_FOUND' },
      });
    }
    expect(await jobRows()).toHaveLength(1);

    const readOnly = t.api.callerFor(await (await issueServiceKey(t.api, orgUserX1, ['sessions:read', 'jobs:read'])).auth());
    await expect(readOnly.upload.initiate({ sessionId: own.sessionId, sizeBytes: 100 })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'INSUFFICIENT_SCOPE', message: expect.stringContaining('uploads:write') },
    });
    expect(await jobRows()).toHaveLength(1);
  });

  it('refuses a revoked or expired key before anything is written', async () => {
    const session = await createSession(orgUserX1);
    const revoked = await issueServiceKey(t.api, orgUserX1, ['uploads:write']);
    await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.revoke({ keyId: revoked.keyId });
    await expect(
      t.api.callerFor(await revoked.auth()).upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'SERVICE_KEY_REVOKED' },
    });
    const expiring = await issueServiceKey(t.api, orgUserX1, ['uploads:write'], {
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    await sql`update service_keys set expires_at = now() - interval '1 second' where id = ${expiring.keyId}`.execute(t.testDb.db);
    t.api.deps.serviceKeys.forget(expiring.keyId);
    await expect(
      t.api.callerFor(await expiring.auth()).upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 }),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'SERVICE_KEY_EXPIRED' },
    });
    expect(await jobRows()).toHaveLength(0);
  });
});
