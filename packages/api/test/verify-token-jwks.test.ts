import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTokenVerifier, type TokenVerifier } from '@coach/api';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'coach-plus-api';

let server: Server;
let verify: TokenVerifier;
let signingKey: CryptoKey;
let otherKey: CryptoKey;
let publicJwk: JWK;

/** A production-like identity provider: RS256 keys published as a JWKS over HTTP on loopback. */
beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  verify = createTokenVerifier({
    kind: 'jwks',
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    issuer: ISSUER,
    audience: AUDIENCE,
  });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function token(key: CryptoKey, claims: { iss?: string; aud?: string; kid?: string } = {}) {
  return new SignJWT({ role: 'org_pro', org_id: 'org-9' })
    .setProtectedHeader({ alg: 'RS256', kid: claims.kid ?? 'key-1' })
    .setSubject('staff-1')
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

describe('createTokenVerifier with a JWKS identity provider', () => {
  it('accepts a token signed by a published key, with the expected issuer and audience', async () => {
    await expect(verify(`Bearer ${await token(signingKey)}`)).resolves.toEqual({
      status: 'authenticated',
      identity: { userId: 'staff-1', role: 'org_pro', orgId: 'org-9', features: null, expiresAt: expect.any(Number) },
    });
  });

  it.each([
    ['another issuer', { iss: 'https://evil.example.test/' }],
    ['another audience', { aud: 'some-other-api' }],
    ['an unknown key id', { kid: 'key-2' }],
  ])('refuses a token with %s', async (_label, claims) => {
    await expect(verify(`Bearer ${await token(signingKey, claims)}`)).resolves.toEqual({
      status: 'invalid',
      reason: 'TOKEN_INVALID',
    });
  });

  it('refuses a token without an expiry', async () => {
    const forever = await new SignJWT({ role: 'org_pro', org_id: 'org-9' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setSubject('staff-1')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .sign(signingKey);
    await expect(verify(`Bearer ${forever}`)).resolves.toEqual({ status: 'invalid', reason: 'TOKEN_INVALID' });
  });

  it('refuses a token signed by a key the provider does not publish, even under a known key id', async () => {
    await expect(verify(`Bearer ${await token(otherKey)}`)).resolves.toMatchObject({ status: 'invalid' });
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const forged = await new SignJWT({ role: 'coach_pro_plus' })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-1' })
      .setSubject('attacker')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
    await expect(verify(`Bearer ${forged}`)).resolves.toMatchObject({ status: 'invalid' });
  });
});
