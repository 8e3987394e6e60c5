import { createSecretKey } from 'node:crypto';

import { decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';

import { createTokenVerifier, MAX_HS256_TOKEN_LIFETIME_SECONDS, signDevToken, type AuthState } from '@coach/api';

import { useCallerTests } from '../../../test/helpers/api.ts';

const t = useCallerTests();

const secret = 'test-secret-0123456789-abcdefghijklmnop';
const otherSecret = 'another-secret-0123456789-abcdefghijkl';
const verify = createTokenVerifier({ kind: 'hs256', secret });

const invalid: AuthState = { status: 'invalid', reason: 'TOKEN_INVALID' };
const expired: AuthState = { status: 'invalid', reason: 'TOKEN_EXPIRED' };
const epochSeconds = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs arbitrary claims with the shared secret, for claim sets signDevToken cannot make. */
function signClaims(claims: Record<string, unknown>, key = secret) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(createSecretKey(Buffer.from(key, 'utf8')));
}

describe('createTokenVerifier (hs256)', () => {
  it('turns a valid coach token into an authenticated identity with default features', async () => {
    const token = await signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus' });
    const { exp } = decodeJwt(token);
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({
      status: 'authenticated',
      // expiresAt: the token's exp in ms, so a live stream can end then.
      identity: { userId: 'coach-123', role: 'coach_pro_plus', orgId: null, features: null, expiresAt: (exp ?? 0) * 1000 },
    });
  });

  it('carries the org id and the features claim of an org token', async () => {
    const token = await signDevToken(secret, {
      userId: 'staff-1',
      role: 'org_pro',
      orgId: 'org-9',
      features: ['analytics', 'video_upload_enabled'],
    });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({
      status: 'authenticated',
      identity: {
        userId: 'staff-1',
        role: 'org_pro',
        orgId: 'org-9',
        features: ['analytics', 'video_upload_enabled'],
        expiresAt: expect.any(Number),
      },
    });
  });

  it('accepts the scheme in any case and surrounding whitespace after the token', async () => {
    const token = await signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus' });
    await expect(verify(`bearer ${token}`)).resolves.toMatchObject({ status: 'authenticated' });
    await expect(verify(`Bearer   ${token}  `)).resolves.toMatchObject({ status: 'authenticated' });
  });

  it('treats a missing or empty header as anonymous', async () => {
    await expect(verify(undefined)).resolves.toEqual({ status: 'anonymous' });
    await expect(verify('')).resolves.toEqual({ status: 'anonymous' });
  });

  it.each(['Basic xyz', 'Bearer', 'Bearer ', 'Bearer a b', 'Token abc', 'Bearer not-a-jwt', 'Bearer a.b.c'])(
    'rejects the header %j as TOKEN_INVALID',
    async (header) => {
      await expect(verify(header)).resolves.toEqual(invalid);
    },
  );

  it('rejects a token signed with another secret', async () => {
    const token = await signDevToken(otherSecret, { userId: 'coach-123', role: 'coach_pro_plus' });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual(invalid);
  });

  it('reports an expired token as TOKEN_EXPIRED', async () => {
    const pastEpoch = await signDevToken(secret, {
      userId: 'coach-123',
      role: 'coach_pro_plus',
      expiresIn: epochSeconds() - 60,
    });
    await expect(verify(`Bearer ${pastEpoch}`)).resolves.toEqual(expired);
    const relative = await signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus', expiresIn: '-5m' });
    await expect(verify(`Bearer ${relative}`)).resolves.toEqual(expired);
  });

  it('does not call an expired token from another signer merely expired', async () => {
    const token = await signDevToken(otherSecret, {
      userId: 'coach-123',
      role: 'coach_pro_plus',
      expiresIn: epochSeconds() - 60,
    });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual(invalid);
  });

  it('refuses a correctly signed token without an expiry', async () => {
    const forever = await new SignJWT({ role: 'coach_pro_plus' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('coach-123')
      .setIssuedAt()
      .sign(createSecretKey(Buffer.from(secret, 'utf8')));
    await expect(verify(`Bearer ${forever}`)).resolves.toEqual(invalid);
  });

  it(`accepts a lifetime up to ${MAX_HS256_TOKEN_LIFETIME_SECONDS / 3600} h and refuses a longer one`, async () => {
    const sign = (expiresIn: number) =>
      signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus', expiresIn: epochSeconds() + expiresIn });
    await expect(verify(`Bearer ${await sign(MAX_HS256_TOKEN_LIFETIME_SECONDS - 5)}`)).resolves.toMatchObject({
      status: 'authenticated',
    });
    await expect(verify(`Bearer ${await sign(MAX_HS256_TOKEN_LIFETIME_SECONDS + 60)}`)).resolves.toEqual(invalid);
    await expect(verify(`Bearer ${await sign(10 * 365 * 24 * 3600)}`)).resolves.toEqual(invalid);
  });

  it('measures the lifetime from the issue time: a token issued two days ago for three days is refused', async () => {
    const now = epochSeconds();
    const longLived = await new SignJWT({ role: 'coach_pro_plus' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('coach-123')
      .setIssuedAt(now - 2 * 24 * 3600)
      .setExpirationTime(now + 24 * 3600 - 60)
      .sign(createSecretKey(Buffer.from(secret, 'utf8')));
    await expect(verify(`Bearer ${longLived}`)).resolves.toEqual(invalid);
  });

  it('rejects an unsigned (alg none) token', async () => {
    const now = epochSeconds();
    const claims = { sub: 'coach-123', role: 'coach_pro_plus', iat: now, exp: now + 3600 };
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    await expect(verify(`Bearer ${unsigned}`)).resolves.toEqual(invalid);
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const token = await signDevToken(secret, { userId: 'free-1', role: 'coach_free' });
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    // The untouched token is fine...
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ status: 'authenticated' });
    // ...but upgrading the role in it breaks the signature.
    const tampered = `${header}.${b64url({ ...claims, role: 'coach_pro_plus' })}.${signature}`;
    await expect(verify(`Bearer ${tampered}`)).resolves.toEqual(invalid);
  });

  it('rejects a token signed with another algorithm than HS256', async () => {
    const token = await new SignJWT({ role: 'coach_pro_plus' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('coach-123')
      .setExpirationTime('1h')
      .sign(createSecretKey(Buffer.from(secret, 'utf8')));
    await expect(verify(`Bearer ${token}`)).resolves.toEqual(invalid);
  });

  it.each([
    ['no role claim', { sub: 'coach-123' }],
    ['an empty role', { sub: 'coach-123', role: '' }],
    ['a non-string role', { sub: 'coach-123', role: 7 }],
    ['no subject', { role: 'coach_pro_plus' }],
    ['an empty subject', { sub: '', role: 'coach_pro_plus' }],
    ['an empty org id', { sub: 'staff-1', role: 'org_pro', org_id: '' }],
    ['features that are not a string list', { sub: 'coach-123', role: 'coach_pro_plus', features: 'video_upload_enabled' }],
    // Service keys act as `service:<key id>`: no user may take a key's rate limits or idempotency keys.
    ['a subject reserved for service keys', { sub: 'service:0123456789abcdef', role: 'org_pro', org_id: 'org-x' }],
  ])('rejects a correctly signed token with %s', async (_what, claims) => {
    const token = await signClaims(claims);
    await expect(verify(`Bearer ${token}`)).resolves.toEqual(invalid);
  });

  it('checks issuer and audience when they are configured', async () => {
    const strict = createTokenVerifier({ kind: 'hs256', secret, issuer: 'https://id.coach.test', audience: 'coach-api' });
    const sign = (claims: { issuer?: string; audience?: string }) =>
      signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus', ...claims });

    const matching = await sign({ issuer: 'https://id.coach.test', audience: 'coach-api' });
    await expect(strict(`Bearer ${matching}`)).resolves.toMatchObject({
      status: 'authenticated',
      identity: { userId: 'coach-123' },
    });
    for (const claims of [
      { issuer: 'https://evil.test', audience: 'coach-api' },
      { issuer: 'https://id.coach.test', audience: 'other-api' },
      { audience: 'coach-api' },
      { issuer: 'https://id.coach.test' },
      {},
    ]) {
      await expect(strict(`Bearer ${await sign(claims)}`), JSON.stringify(claims)).resolves.toEqual(invalid);
    }
  });
});

describe('verified tokens through the API', () => {
  it('answers an expired token with UNAUTHORIZED / TOKEN_EXPIRED', async () => {
    const token = await signDevToken(secret, {
      userId: 'coach-123',
      role: 'coach_pro_plus',
      expiresIn: epochSeconds() - 60,
    });
    const caller = t.api.callerFor(await verify(`Bearer ${token}`));
    await expect(caller.sessions.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'TOKEN_EXPIRED' },
    });
    await expect(caller.sessions.create({ title: 'Nets', playerIds: [] })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'TOKEN_EXPIRED' },
    });
    expect(await t.testDb.db.selectFrom('videoSessions').selectAll().execute()).toHaveLength(0);
  });

  it('answers a forged token with UNAUTHORIZED / TOKEN_INVALID and no header with UNAUTHENTICATED', async () => {
    const forged = await signDevToken(otherSecret, { userId: 'coach-123', role: 'coach_pro_plus' });
    await expect(t.api.callerFor(await verify(`Bearer ${forged}`)).sessions.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'TOKEN_INVALID' },
    });
    await expect(t.api.callerFor(await verify(undefined)).sessions.list()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: 'UNAUTHENTICATED' },
    });
  });

  it('lets a valid token act as its user, and applies its features claim', async () => {
    const token = await signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus' });
    const caller = t.api.callerFor(await verify(`Bearer ${token}`));
    const session = await caller.sessions.create({ title: 'Nets', playerIds: [] });
    expect(session).toMatchObject({ ownerType: 'coach', ownerId: 'coach-123', createdBy: 'coach-123' });
    await expect(caller.upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 })).resolves.toMatchObject({
      status: 'awaiting_upload',
    });

    const noUpload = await signDevToken(secret, { userId: 'coach-123', role: 'coach_pro_plus', features: ['analytics'] });
    await expect(
      t.api.callerFor(await verify(`Bearer ${noUpload}`)).upload.initiate({ sessionId: session.sessionId, sizeBytes: 1000 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', cause: { code: 'FEATURE_DISABLED' } });
  });
});
