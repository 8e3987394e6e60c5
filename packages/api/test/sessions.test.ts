import { describe, expect, it } from 'vitest';

import type { RouterInputs } from '@coach/api';

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

const t = useCallerTests();

const input: RouterInputs['sessions']['create'] = { title: 'Batting technique', playerIds: ['p1', 'p2'] };

describe('sessions.create', () => {
  it('creates a coach session owned by the coach', async () => {
    const session = await t.api.callerFor(signedIn(coachA)).sessions.create(input);
    expect(session).toMatchObject({
      ownerType: 'coach',
      ownerId: 'coach-a',
      title: 'Batting technique',
      playerIds: ['p1', 'p2'],
    });
    const row = await t.testDb.db.selectFrom('videoSessions').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ id: session.sessionId, ownerType: 'coach', ownerId: 'coach-a', createdBy: 'coach-a' });
  });

  it('creates an org session owned by the organisation, not the staff member', async () => {
    const session = await t.api.callerFor(signedIn(orgUserX1)).sessions.create(input);
    expect(session).toMatchObject({ ownerType: 'org', ownerId: 'org-x', createdBy: 'org-x-staff-1' });
  });

  it('refuses anonymous callers and other roles with distinct codes', async () => {
    await expect(t.api.callerFor(anonymous).sessions.create(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(t.api.callerFor(signedIn(freeUser)).sessions.create(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    await expect(t.api.callerFor(signedIn({ ...orgUserX1, orgId: null })).sessions.create(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ORG_CLAIM_MISSING' },
    });
    expect(await t.testDb.db.selectFrom('videoSessions').selectAll().execute()).toHaveLength(0);
  });

  it.each([
    [{ title: '', playerIds: [] }, 'title'],
    [{ title: '   ', playerIds: [] }, 'title'],
    [{ title: 'x'.repeat(201), playerIds: [] }, 'title'],
    [{ title: 'ok', playerIds: ['a', 'a'] }, 'playerIds'],
    [{ title: 'ok', playerIds: [''] }, 'playerIds.0'],
    [{ title: 'ok', playerIds: [], ownerId: 'someone-else' }, ''],
  ])('rejects bad input %j naming the field %s', async (bad, field) => {
    const error = await t.api
      .callerFor(signedIn(coachA))
      .sessions.create(bad as typeof input)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const issues = (error as { cause: { issues: { path: PropertyKey[] }[] } }).cause.issues;
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
    expect(await t.testDb.db.selectFrom('videoSessions').selectAll().execute()).toHaveLength(0);
  });
});

describe('sessions.get', () => {
  it('returns an own session to its coach and to every staff member of the owning org', async () => {
    const coachSession = await t.api.callerFor(signedIn(coachA)).sessions.create(input);
    const orgSession = await t.api.callerFor(signedIn(orgUserX1)).sessions.create(input);
    await expect(t.api.callerFor(signedIn(coachA)).sessions.get({ sessionId: coachSession.sessionId })).resolves.toEqual(
      coachSession,
    );
    await expect(t.api.callerFor(signedIn(orgUserX2)).sessions.get({ sessionId: orgSession.sessionId })).resolves.toEqual(
      orgSession,
    );
  });

  it("answers another owner's session exactly like a missing one", async () => {
    const coachSession = await t.api.callerFor(signedIn(coachA)).sessions.create(input);
    const orgSession = await t.api.callerFor(signedIn(orgUserX1)).sessions.create(input);
    const missing = await t.api
      .callerFor(signedIn(coachA))
      .sessions.get({ sessionId: '00000000-0000-4000-8000-000000000000' })
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
        .sessions.get({ sessionId })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'NOT_FOUND', message: (missing as Error).message });
    }
  });

  it('rejects an id that is not a UUID', async () => {
    await expect(t.api.callerFor(signedIn(coachA)).sessions.get({ sessionId: '../../etc/passwd' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });
});

describe('sessions.list', () => {
  it('pages through only the caller’s sessions, newest first, without gaps or repeats', async () => {
    const coach = t.api.callerFor(signedIn(coachA));
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await coach.sessions.create({ title: `s${i}`, playerIds: [] }));
    await t.api.callerFor(signedIn(coachB)).sessions.create(input);
    await t.api.callerFor(signedIn(orgUserX1)).sessions.create(input);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await coach.sessions.list({ limit: 3, cursor });
      seen.push(...page.items.map((s) => s.sessionId));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    // Newest first; rows created in the same millisecond are ordered by id, descending.
    const expected = [...created]
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.sessionId.localeCompare(a.sessionId))
      .map((s) => s.sessionId);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(7);
  });

  it('rejects a forged cursor with a clear code', async () => {
    await expect(t.api.callerFor(signedIn(coachA)).sessions.list({ cursor: 'not-a-cursor' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { code: 'INVALID_CURSOR' },
    });
  });
});

describe('sessions with a service key', () => {
  it("creates and reads its org's sessions only, each within its scope", async () => {
    const writer = t.api.callerFor(await (await issueServiceKey(t.api, orgUserX1, ['sessions:write'])).auth());
    const reader = t.api.callerFor(await (await issueServiceKey(t.api, orgUserX2, ['sessions:read'])).auth());
    const created = await writer.sessions.create(input);
    expect(created).toMatchObject({ ownerType: 'org', ownerId: 'org-x' });
    await expect(reader.sessions.get({ sessionId: created.sessionId })).resolves.toEqual(created);

    const ofOrgY = await t.api.callerFor(signedIn(orgUserY)).sessions.create(input);
    const ofCoach = await t.api.callerFor(signedIn(coachNamedLikeOrg)).sessions.create(input);
    for (const foreign of [ofOrgY, ofCoach]) {
      await expect(reader.sessions.get({ sessionId: foreign.sessionId })).rejects.toMatchObject({
        code: 'NOT_FOUND',
        cause: { code: 'SESSION_NOT_FOUND' },
      });
    }
    expect((await reader.sessions.list()).items.map((s) => s.sessionId)).toEqual([created.sessionId]);

    await expect(reader.sessions.create(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'INSUFFICIENT_SCOPE' },
    });
    await expect(writer.sessions.list()).rejects.toMatchObject({ code: 'FORBIDDEN', cause: { code: 'INSUFFICIENT_SCOPE' } });
  });
});
