import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createTokenVerifier, signDevToken } from '@coach/api';

// A verifier keeps tokens it has verified; these tests pin down what that
// memory may never change: expiry, withdrawn keys, and refused tokens.

const secret = 'cache-secret-0123456789-abcdefghijklmno';
const START = new Date('2026-11-24T12:00:00.000Z');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});
afterEach(() => vi.useRealTimers());

describe('verified tokens kept by the verifier', () => {
  it('answers a repeated token with the same identity', async () => {
    const verify = createTokenVerifier({ kind: 'hs256', secret });
    const token = await signDevToken(secret, { userId: 'coach-1', role: 'coach_pro_plus', features: ['video_upload_enabled'] });
    const first = await verify(`Bearer ${token}`);
    const again = await verify(`bearer ${token} `);
    expect(first).toEqual({
      status: 'authenticated',
      identity: {
        userId: 'coach-1',
        role: 'coach_pro_plus',
        orgId: null,
        features: ['video_upload_enabled'],
        expiresAt: expect.any(Number),
      },
    });
    expect(again).toEqual(first);
  });

  it('reports a kept token as expired from the second its exp names, as jose does', async () => {
    const verify = createTokenVerifier({ kind: 'hs256', secret });
    const exp = Math.floor(START.getTime() / 1000) + 30;
    const token = await signDevToken(secret, { userId: 'coach-1', role: 'coach_pro_plus', expiresIn: exp });
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ status: 'authenticated' });

    vi.setSystemTime(new Date((exp - 1) * 1000 + 999));
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ status: 'authenticated' });
    vi.setSystemTime(new Date(exp * 1000));
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({ status: 'invalid', reason: 'TOKEN_EXPIRED' });
    // A fresh verifier (nothing kept) agrees.
    await expect(createTokenVerifier({ kind: 'hs256', secret })(`Bearer ${token}`)).resolves.toEqual({
      status: 'invalid',
      reason: 'TOKEN_EXPIRED',
    });
  });

  it('never keeps a refused token: a forged one stays refused, and a valid one beside it is unaffected', async () => {
    const verify = createTokenVerifier({ kind: 'hs256', secret });
    const valid = await signDevToken(secret, { userId: 'coach-1', role: 'coach_pro_plus' });
    const [header, , signature] = valid.split('.');
    const claims = { sub: 'coach-2', role: 'coach_pro_plus', exp: Math.floor(Date.now() / 1000) + 600 };
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    await expect(verify(`Bearer ${valid}`)).resolves.toMatchObject({ status: 'authenticated' });
    for (let i = 0; i < 3; i++) {
      await expect(verify(`Bearer ${forged}`)).resolves.toEqual({ status: 'invalid', reason: 'TOKEN_INVALID' });
    }
    await expect(verify(`Bearer ${valid}`)).resolves.toMatchObject({ identity: { userId: 'coach-1' } });
  });

  it('gives out an identity nobody can change for the next caller', async () => {
    const verify = createTokenVerifier({ kind: 'hs256', secret });
    const token = await signDevToken(secret, { userId: 'coach-1', role: 'coach_pro_plus', features: ['video_upload_enabled'] });
    const first = await verify(`Bearer ${token}`);
    if (first.status !== 'authenticated') throw new Error('expected an identity');
    expect(() => {
      (first.identity as { role: string }).role = 'org_pro';
    }).toThrow(TypeError);
    expect(() => {
      (first.identity.features as string[]).push('another_feature');
    }).toThrow(TypeError);
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({
      identity: { role: 'coach_pro_plus', features: ['video_upload_enabled'] },
    });
  });
});

describe('verified tokens of a JWKS identity provider', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('stop being honoured once the provider withdraws their key', async () => {
    const signing = await generateKeyPair('RS256');
    const replacement = await generateKeyPair('RS256');
    const jwk = async (key: CryptoKey, kid: string): Promise<JWK> => ({
      ...(await exportJWK(key)),
      kid,
      alg: 'RS256',
      use: 'sig',
    });
    let published = [await jwk(signing.publicKey, 'key-1')];
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const verify = createTokenVerifier({
      kind: 'jwks',
      jwksUrl: `http://127.0.0.1:${port}/jwks.json`,
      issuer: 'https://id.example.test/',
      audience: 'coach-plus-api',
    });
    const token = await new SignJWT({ role: 'org_pro', org_id: 'org-9' })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setSubject('staff-1')
      .setIssuer('https://id.example.test/')
      .setAudience('coach-plus-api')
      .setExpirationTime('2h')
      .sign(signing.privateKey);

    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ status: 'authenticated' });
    published = [await jwk(replacement.publicKey, 'key-2')];
    // Within jose's own JWKS cache age the old key still verifies...
    vi.setSystemTime(START.getTime() + 5 * 60_000);
    await expect(verify(`Bearer ${token}`)).resolves.toMatchObject({ status: 'authenticated' });
    // ...after it, jose fetches the set again, and the kept token is checked again too.
    vi.setSystemTime(START.getTime() + 11 * 60_000);
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({ status: 'invalid', reason: 'TOKEN_INVALID' });
  });
});
