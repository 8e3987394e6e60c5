import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import {
  appRouter,
  createCaller,
  createContext,
  createServiceKeyVerifier,
  createUsageMeter,
  MAX_LIVE_SERVICE_KEYS,
  SERVICE_KEY_CACHE_MS,
  SERVICE_KEY_STREAM_RECHECK_MS,
  SERVICE_KEY_TOUCH_SECONDS,
  silentLogger,
  type AuthState,
  type RouterInputs,
  type ServiceScope,
} from '@coach/api';
import { sql, touchServiceKey, type Database, type Kysely, type KyselyPlugin } from '@coach/db';

import { useCallerTests } from '../../../test/helpers/api.ts';
import {
  ALL_SCOPES,
  anonymous,
  coachA,
  coachNamedLikeOrg,
  issueServiceKey,
  orgUserX1,
  orgUserX2,
  orgUserY,
  signedIn,
} from '../../../test/helpers/identities.ts';

const t = useCallerTests();

const KEY_FORMAT = /^cpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A caller authenticated the way an HTTP request with this credential is. */
const callerWith = async (key: { auth(): Promise<AuthState> }) => t.api.callerFor(await key.auth());

describe('serviceKeys.create', () => {
  it('issues a key of the org once, high entropy, and stores only a SHA-256 of its secret', async () => {
    const created = await t.api
      .callerFor(signedIn(orgUserX1))
      .serviceKeys.create({ name: 'player-management', scopes: ['sessions:read', 'uploads:write'] });
    const [, keyId, secretPart] = KEY_FORMAT.exec(created.secret) ?? [];
    expect(keyId).toBe(created.keyId);
    expect(created).toMatchObject({
      prefix: `cpk_${created.keyId}_`,
      name: 'player-management',
      scopes: ['sessions:read', 'uploads:write'],
      createdBy: 'org-x-staff-1',
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(Buffer.from(secretPart ?? '', 'base64url')).toHaveLength(32);

    // Nothing in the table holds the secret: every column of every row, as Postgres prints them.
    const rows = await sql<Record<string, unknown>>`select *, secret_hash::text as hash_text from service_keys`.execute(
      t.testDb.db,
    );
    expect(rows.rows).toHaveLength(1);
    const stored = JSON.stringify(rows.rows);
    expect(stored).not.toContain(secretPart);
    expect(stored).not.toContain(created.secret);
    expect(stored).not.toContain(Buffer.from(secretPart ?? '', 'base64url').toString('hex'));
    const row = await t.testDb.db.selectFrom('serviceKeys').selectAll().executeTakeFirstOrThrow();
    expect(
      row.secretHash.equals(
        createHash('sha256')
          .update(secretPart ?? '')
          .digest(),
      ),
    ).toBe(true);
    expect(row).toMatchObject({ orgId: 'org-x', features: null });

    // Two keys never share a secret.
    const other = await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.create({ name: 'b', scopes: ['jobs:read'] });
    expect(other.secret).not.toBe(created.secret);
    expect(other.keyId).not.toBe(created.keyId);
  });

  it('is for org staff only: a coach has no org, anonymous callers are refused', async () => {
    const input = { name: 'k', scopes: ['jobs:read'] satisfies ServiceScope[] };
    await expect(t.api.callerFor(signedIn(coachA)).serviceKeys.create(input)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    await expect(t.api.callerFor(anonymous).serviceKeys.create(input)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
    await expect(t.api.callerFor(signedIn({ ...orgUserX1, orgId: null })).serviceKeys.create(input)).rejects.toMatchObject({
      cause: { code: 'ORG_CLAIM_MISSING' },
    });
    expect(await t.testDb.db.selectFrom('serviceKeys').selectAll().execute()).toHaveLength(0);
  });

  it.each([
    [{ name: 'k', scopes: [] }, 'scopes'],
    [{ name: 'k', scopes: ['sessions:delete'] }, 'scopes.0'],
    [{ name: 'k', scopes: ['jobs:read', 'jobs:read'] }, 'scopes'],
    [{ name: '', scopes: ['jobs:read'] }, 'name'],
    [{ name: 'k', scopes: ['jobs:read'], expiresAt: 'tomorrow' }, 'expiresAt'],
  ])('refuses bad input %j naming the field %s', async (bad, field) => {
    const error = await t.api
      .callerFor(signedIn(orgUserX1))
      .serviceKeys.create(bad as RouterInputs['serviceKeys']['create'])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_REQUEST' });
    const issues = (error as { cause: { issues: { path: PropertyKey[] }[] } }).cause.issues;
    expect(issues.map((i) => i.path.join('.'))).toContain(field);
    expect(await t.testDb.db.selectFrom('serviceKeys').selectAll().execute()).toHaveLength(0);
  });

  it('refuses an expiry that has passed', async () => {
    await expect(
      t.api
        .callerFor(signedIn(orgUserX1))
        .serviceKeys.create({ name: 'k', scopes: ['jobs:read'], expiresAt: new Date(Date.now() - 1000).toISOString() }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      cause: { code: 'INVALID_INPUT', message: expect.stringContaining('expiresAt') },
    });
  });

  it(`holds an org to ${MAX_LIVE_SERVICE_KEYS} live keys; revoking one makes room`, async () => {
    const staff = t.api.callerFor(signedIn(orgUserX1));
    const keys = [];
    for (let i = 0; i < MAX_LIVE_SERVICE_KEYS; i++)
      keys.push(await staff.serviceKeys.create({ name: `k${i}`, scopes: ['jobs:read'] }));
    await expect(staff.serviceKeys.create({ name: 'one more', scopes: ['jobs:read'] })).rejects.toMatchObject({
      code: 'CONFLICT',
      cause: { code: 'TOO_MANY_SERVICE_KEYS' },
    });
    // Another org is not held by org-x's count.
    await t.api.callerFor(signedIn(orgUserY)).serviceKeys.create({ name: 'y', scopes: ['jobs:read'] });
    await staff.serviceKeys.revoke({ keyId: keys[0]?.keyId ?? '' });
    await staff.serviceKeys.create({ name: 'one more', scopes: ['jobs:read'] });
  });
});

describe('serviceKeys.list and revoke', () => {
  it("lists the org's live keys newest first, never a secret or hash, and nothing of another org", async () => {
    const first = await issueServiceKey(t.api, orgUserX1, ['jobs:read'], { name: 'first' });
    const second = await issueServiceKey(t.api, orgUserX2, ['sessions:read'], { name: 'second' });
    await issueServiceKey(t.api, orgUserY, ['jobs:read'], { name: 'org-y key' });

    const listed = await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.list();
    expect(listed.items.map((k) => k.keyId)).toEqual([second.keyId, first.keyId]);
    const text = JSON.stringify(listed);
    expect(text).not.toContain(first.secret.slice(22));
    expect(text).not.toContain(second.secret.slice(22));
    expect(Object.keys(listed.items[0] ?? {}).sort()).toEqual(
      ['createdAt', 'createdBy', 'expiresAt', 'keyId', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'scopes'].sort(),
    );

    await t.api.callerFor(signedIn(orgUserX2)).serviceKeys.revoke({ keyId: first.keyId });
    expect((await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.list()).items.map((k) => k.keyId)).toEqual([second.keyId]);
  });

  it("refuses to revoke another org's key as if it did not exist, and that key keeps working", async () => {
    const keyOfY = await issueServiceKey(t.api, orgUserY, ['sessions:read']);
    await expect(t.api.callerFor(signedIn(orgUserX1)).serviceKeys.revoke({ keyId: keyOfY.keyId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      cause: { code: 'SERVICE_KEY_NOT_FOUND' },
    });
    await expect(t.api.callerFor(signedIn(orgUserX1)).serviceKeys.revoke({ keyId: '0123456789abcdef' })).rejects.toMatchObject({
      cause: { code: 'SERVICE_KEY_NOT_FOUND' },
    });
    // A coach whose id equals org-x's id is no member of org-x.
    await expect(t.api.callerFor(signedIn(coachNamedLikeOrg)).serviceKeys.list()).rejects.toMatchObject({
      cause: { code: 'ROLE_NOT_ALLOWED' },
    });
    await expect((await callerWith(keyOfY)).sessions.list()).resolves.toMatchObject({ items: [] });
  });

  it('refuses a revoked key from the next call on, with its own code; a repeat answers the first revocation', async () => {
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read']);
    await (await callerWith(key)).sessions.list(); // read and kept by this process's verifier
    const revoked = await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.revoke({ keyId: key.keyId });
    expect(revoked.revokedAt).not.toBeNull();
    await expect((await callerWith(key)).sessions.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'SERVICE_KEY_REVOKED', message: expect.stringContaining('revoked') },
    });
    const again = await t.api.callerFor(signedIn(orgUserX2)).serviceKeys.revoke({ keyId: key.keyId });
    expect(again.revokedAt).toBe(revoked.revokedAt);
  });
});

describe('a service key as a caller', () => {
  it('acts for its org, recorded as itself, and reaches no other owner', async () => {
    const key = await issueServiceKey(t.api, orgUserX1);
    const service = await callerWith(key);
    const session = await service.sessions.create({ title: 'From the club system', playerIds: ['p1'] });
    expect(session).toMatchObject({ ownerType: 'org', ownerId: 'org-x', createdBy: `service:${key.keyId}` });
    // Staff of the org see what the key made; the key sees what staff made.
    await expect(t.api.callerFor(signedIn(orgUserX2)).sessions.get({ sessionId: session.sessionId })).resolves.toBeTruthy();
    const staffSession = await t.api.callerFor(signedIn(orgUserX2)).sessions.create({ title: 'Staff', playerIds: [] });
    await expect(service.sessions.get({ sessionId: staffSession.sessionId })).resolves.toBeTruthy();

    const ySession = await t.api.callerFor(signedIn(orgUserY)).sessions.create({ title: 'Y', playerIds: [] });
    const coachSession = await t.api.callerFor(signedIn(coachNamedLikeOrg)).sessions.create({ title: 'C', playerIds: [] });
    for (const foreign of [ySession, coachSession]) {
      await expect(service.sessions.get({ sessionId: foreign.sessionId })).rejects.toMatchObject({
        cause: { code: 'SESSION_NOT_FOUND' },
      });
      await expect(service.upload.initiate({ sessionId: foreign.sessionId, sizeBytes: 100 })).rejects.toMatchObject({
        cause: { code: 'SESSION_NOT_FOUND' },
      });
    }
    const yJob = await t.api.callerFor(signedIn(orgUserY)).upload.initiate({ sessionId: ySession.sessionId, sizeBytes: 100 });
    await expect(service.jobs.get({ jobId: yJob.jobId })).rejects.toMatchObject({ cause: { code: 'JOB_NOT_FOUND' } });
    await expect(service.upload.complete({ jobId: yJob.jobId })).rejects.toMatchObject({ cause: { code: 'JOB_NOT_FOUND' } });
    expect((await service.sessions.list()).items.map((s) => s.sessionId).sort()).toEqual(
      [session.sessionId, staffSession.sessionId].sort(),
    );
  });

  it('may call only what its scopes cover, and the refusal names the scope needed', async () => {
    const staff = t.api.callerFor(signedIn(orgUserX1));
    const session = await staff.sessions.create({ title: 'S', playerIds: [] });
    const job = await staff.upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 });
    const calls: Record<ServiceScope, (caller: ReturnType<typeof t.api.callerFor>) => Promise<unknown>> = {
      'sessions:read': (c) => c.sessions.get({ sessionId: session.sessionId }),
      'sessions:write': (c) => c.sessions.create({ title: 'T', playerIds: [] }),
      'uploads:write': (c) => c.upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 }),
      'jobs:read': (c) => c.jobs.get({ jobId: job.jobId }),
      'audit:read': (c) => c.audit.list(),
    };
    for (const scope of ALL_SCOPES) {
      const without = await callerWith(
        await issueServiceKey(
          t.api,
          orgUserX1,
          ALL_SCOPES.filter((s) => s !== scope),
        ),
      );
      const only = await callerWith(await issueServiceKey(t.api, orgUserX1, [scope]));
      await expect(calls[scope](without)).rejects.toMatchObject({
        code: 'FORBIDDEN',
        cause: { code: 'INSUFFICIENT_SCOPE', message: expect.stringContaining(`needs the scope ${scope}`) },
      });
      await expect(calls[scope](only)).resolves.toBeTruthy();
    }
  });

  it('names a scope on every procedure but the key management ones, which no key may call', () => {
    // At run time tRPC keeps every procedure under its dotted path; the type describes the nested router.
    const scopes = Object.fromEntries(
      Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { meta?: { scope?: string } } }>).map(
        ([path, procedure]) => [path, procedure._def.meta?.scope ?? null],
      ),
    );
    expect(scopes).toEqual({
      'sessions.create': 'sessions:write',
      'sessions.get': 'sessions:read',
      'sessions.list': 'sessions:read',
      'sessions.delete': 'sessions:write',
      'sessions.erasePlayer': 'sessions:write',
      'upload.initiate': 'uploads:write',
      'upload.signParts': 'uploads:write',
      'upload.recordParts': 'uploads:write',
      'upload.listParts': 'uploads:write',
      'upload.complete': 'uploads:write',
      'upload.abort': 'uploads:write',
      'jobs.get': 'jobs:read',
      'jobs.frames': 'jobs:read',
      'jobs.videoUrl': 'jobs:read',
      'jobs.list': 'jobs:read',
      'jobs.watch': 'jobs:read',
      'jobs.delete': 'uploads:write',
      'usage.get': 'uploads:write',
      'retention.get': 'sessions:read',
      'retention.set': 'sessions:write',
      'retention.reset': 'sessions:write',
      'audit.list': 'audit:read',
      'serviceKeys.create': null,
      'serviceKeys.list': null,
      'serviceKeys.revoke': null,
    });
  });

  it('cannot create, list or revoke keys, whatever its scopes', async () => {
    const key = await issueServiceKey(t.api, orgUserX1, ALL_SCOPES);
    const service = await callerWith(key);
    const refused = { code: 'FORBIDDEN', cause: { code: 'INSUFFICIENT_SCOPE', message: expect.stringContaining('org_pro') } };
    await expect(service.serviceKeys.create({ name: 'child', scopes: ['jobs:read'] })).rejects.toMatchObject(refused);
    await expect(service.serviceKeys.list()).rejects.toMatchObject(refused);
    await expect(service.serviceKeys.revoke({ keyId: key.keyId })).rejects.toMatchObject(refused);
    expect(await t.testDb.db.selectFrom('serviceKeys').select('id').execute()).toHaveLength(1);
  });

  it("is refused uploads like its org's staff when the plan has no video upload", async () => {
    const staffWithoutUpload = { ...orgUserX1, features: ['analytics'] };
    const key = await issueServiceKey(t.api, staffWithoutUpload, ALL_SCOPES);
    const service = await callerWith(key);
    const session = await service.sessions.create({ title: 'S', playerIds: [] });
    await expect(service.upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: 'FEATURE_DISABLED' },
    });
    await expect(
      t.api.callerFor(signedIn(staffWithoutUpload)).upload.initiate({ sessionId: session.sessionId, sizeBytes: 100 }),
    ).rejects.toMatchObject({
      cause: { code: 'FEATURE_DISABLED' },
    });
  });

  it('is rate-limited per key: one busy key does not hold back another key or the staff', async () => {
    const usage = createUsageMeter({ initiatesPerMinute: 0, mutationsPerMinute: 2, signedUrlsPerMinute: 0 });
    const callerFor = (auth: AuthState) => createCaller(createContext({ ...t.api.deps, usage }, auth));
    const busy = await issueServiceKey(t.api, orgUserX1, ['sessions:write']);
    const calm = await issueServiceKey(t.api, orgUserX1, ['sessions:write']);
    const create = (auth: AuthState) => callerFor(auth).sessions.create({ title: 'S', playerIds: [] });
    await create(await busy.auth());
    await create(await busy.auth());
    await expect(create(await busy.auth())).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    await expect(create(await calm.auth())).resolves.toBeTruthy();
    await expect(create(signedIn(orgUserX1))).resolves.toBeTruthy();
  });
});

describe('checking a presented key', () => {
  it('refuses a malformed, unknown or wrong-secret key alike, as SERVICE_KEY_INVALID (401)', async () => {
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read']);
    const [, keyId, secretPart] = KEY_FORMAT.exec(key.secret) ?? [];
    const flipped = `${secretPart?.slice(0, -1)}${secretPart?.endsWith('A') ? 'B' : 'A'}`;
    for (const presented of [
      'cpk_',
      `cpk_${keyId}`,
      `${key.secret}x`,
      `cpk_0123456789abcdef_${secretPart}`,
      `cpk_${keyId}_${flipped}`,
    ]) {
      const auth = await t.api.deps.serviceKeys.verify(presented);
      expect(auth).toEqual({ status: 'invalid', reason: 'SERVICE_KEY_INVALID' });
      await expect(t.api.callerFor(auth).sessions.list()).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
        cause: { code: 'SERVICE_KEY_INVALID' },
      });
    }
    // A wrong secret tells nothing of the key's state.
    await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.revoke({ keyId: keyId ?? '' });
    expect(await t.api.deps.serviceKeys.verify(`cpk_${keyId}_${flipped}`)).toEqual({
      status: 'invalid',
      reason: 'SERVICE_KEY_INVALID',
    });
  });

  it('refuses a key once its expiry passes, as SERVICE_KEY_EXPIRED (401), even from the cache', async () => {
    let now = new Date();
    const verifier = createServiceKeyVerifier({ db: t.testDb.db, now: () => now, logger: silentLogger });
    const expiresAt = new Date(now.getTime() + 60_000);
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read'], { expiresAt: expiresAt.toISOString() });
    const auth = await verifier.verify(key.secret);
    expect(auth).toMatchObject({ status: 'authenticated', identity: { orgId: 'org-x', expiresAt: expiresAt.getTime() } });
    now = new Date(expiresAt.getTime() - 1);
    expect((await verifier.verify(key.secret)).status).toBe('authenticated');
    now = expiresAt;
    const expired = await verifier.verify(key.secret);
    expect(expired).toEqual({ status: 'invalid', reason: 'SERVICE_KEY_EXPIRED' });
    await expect(t.api.callerFor(expired).sessions.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'SERVICE_KEY_EXPIRED' },
    });
    // Still listed until revoked, with its expiry, so staff see why a service stopped.
    expect((await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.list()).items[0]?.expiresAt).toBe(expiresAt.toISOString());
  });

  it(`is honoured by another process for at most ${SERVICE_KEY_CACHE_MS} ms after its revocation`, async () => {
    let now = new Date();
    const otherProcess = createServiceKeyVerifier({ db: t.testDb.db, now: () => now, logger: silentLogger });
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read']);
    expect((await otherProcess.verify(key.secret)).status).toBe('authenticated');
    const readAt = now.getTime();

    await t.api.callerFor(signedIn(orgUserX1)).serviceKeys.revoke({ keyId: key.keyId });
    expect(await t.api.deps.serviceKeys.verify(key.secret)).toEqual({ status: 'invalid', reason: 'SERVICE_KEY_REVOKED' });
    now = new Date(readAt + SERVICE_KEY_CACHE_MS - 1);
    expect((await otherProcess.verify(key.secret)).status).toBe('authenticated');
    now = new Date(readAt + SERVICE_KEY_CACHE_MS);
    expect(await otherProcess.verify(key.secret)).toEqual({ status: 'invalid', reason: 'SERVICE_KEY_REVOKED' });
  });

  it(`gives a live stream at most ${SERVICE_KEY_STREAM_RECHECK_MS / 60_000} minutes before the key is checked again`, async () => {
    const now = new Date();
    const verifier = createServiceKeyVerifier({ db: t.testDb.db, now: () => now, logger: silentLogger });
    const key = await issueServiceKey(t.api, orgUserX1, ['jobs:read']);
    const auth = await verifier.verify(key.secret);
    expect(auth).toMatchObject({ identity: { expiresAt: now.getTime() + SERVICE_KEY_STREAM_RECHECK_MS } });
  });

  it(`records last_used_at at most once per ${SERVICE_KEY_TOUCH_SECONDS} s per key`, async () => {
    let writes = 0;
    const countWrites: KyselyPlugin = {
      transformQuery(args) {
        if (args.node.kind === 'UpdateQueryNode') writes += 1;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    };
    let now = new Date();
    const db: Kysely<Database> = t.testDb.db.withPlugin(countWrites);
    const verifier = createServiceKeyVerifier({ db, now: () => now, logger: silentLogger });
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read']);
    const lastUsed = async () =>
      (await t.testDb.db.selectFrom('serviceKeys').select('lastUsedAt').where('id', '=', key.keyId).executeTakeFirstOrThrow())
        .lastUsedAt;

    await verifier.verify(key.secret);
    expect(writes).toBe(1);
    await expect.poll(lastUsed).not.toBeNull();
    for (let i = 0; i < 20; i++) {
      now = new Date(now.getTime() + 2_000);
      await verifier.verify(key.secret);
    }
    expect(writes).toBe(1);
    now = new Date(now.getTime() + SERVICE_KEY_TOUCH_SECONDS * 1000);
    await verifier.verify(key.secret);
    expect(writes).toBe(2);

    // Across processes the database keeps it to one write a window too.
    const setLastUsed = (secondsAgo: number) =>
      sql`update service_keys set last_used_at = now() - make_interval(secs => ${secondsAgo})`.execute(t.testDb.db);
    await setLastUsed(SERVICE_KEY_TOUCH_SECONDS - 5);
    const recent = await lastUsed();
    await touchServiceKey(t.testDb.db, { id: key.keyId, withinSeconds: SERVICE_KEY_TOUCH_SECONDS });
    expect((await lastUsed())?.getTime()).toBe(recent?.getTime());
    await setLastUsed(SERVICE_KEY_TOUCH_SECONDS + 5);
    const old = await lastUsed();
    await touchServiceKey(t.testDb.db, { id: key.keyId, withinSeconds: SERVICE_KEY_TOUCH_SECONDS });
    expect((await lastUsed())?.getTime()).toBeGreaterThan(old?.getTime() ?? Infinity);
  });

  it('reads a key once for concurrent calls, and again only after the cache window', async () => {
    let reads = 0;
    const countReads: KyselyPlugin = {
      transformQuery(args) {
        if (args.node.kind === 'SelectQueryNode') reads += 1;
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    };
    let now = new Date();
    const verifier = createServiceKeyVerifier({ db: t.testDb.db.withPlugin(countReads), now: () => now, logger: silentLogger });
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read']);
    const answers = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(key.secret)));
    expect(answers.every((a) => a.status === 'authenticated')).toBe(true);
    expect(reads).toBe(1);
    now = new Date(now.getTime() + SERVICE_KEY_CACHE_MS - 1);
    await verifier.verify(key.secret);
    expect(reads).toBe(1);
    now = new Date(now.getTime() + 1);
    await Promise.all(Array.from({ length: 20 }, () => verifier.verify(key.secret)));
    expect(reads).toBe(2);
  });

  it('answers a database outage while checking a key as 503, not as a refusal', async () => {
    const key = await issueServiceKey(t.api, orgUserX1, ['sessions:read']);
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const failing: Kysely<Database> = t.testDb.db.withPlugin({
      transformQuery() {
        throw down;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    const verifier = createServiceKeyVerifier({ db: failing, logger: silentLogger });
    const auth = await verifier.verify(key.secret);
    expect(auth).toEqual({ status: 'unavailable', error: down });
    await expect(t.api.callerFor(auth).sessions.list()).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      cause: { code: 'SERVICE_UNAVAILABLE' },
    });
  });
});
