import { createSecretKey, type KeyObject } from 'node:crypto';

import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';

import type { AuthState, Identity } from './identity.ts';
import { SERVICE_USER_ID_PREFIX } from './service-keys.ts';

export type TokenVerifierConfig =
  | { kind: 'hs256'; secret: string; issuer?: string; audience?: string }
  | { kind: 'jwks'; jwksUrl: string; issuer: string; audience: string };

/**
 * User and org ids become path segments of storage keys: letters, digits and
 * `_ @ . : | + = -` only (identity providers' ids fit: UUIDs, `auth0|…`,
 * e-mail-like), at most 128 characters, and never `.` or `..`.
 */
const OwnerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_@.:|+=-]{1,128}$/)
  .refine((id) => id !== '.' && id !== '..');

const ClaimsSchema = z.object({
  // `service:<key id>` is how a service key acts; no user may act as one.
  sub: OwnerIdSchema.refine((id) => !id.startsWith(SERVICE_USER_ID_PREFIX)),
  role: z.string().min(1).max(64),
  org_id: OwnerIdSchema.optional(),
  features: z.array(z.string().max(64)).max(100).optional(),
});

export type TokenVerifier = (authorization: string | undefined) => Promise<AuthState>;

/**
 * The longest an HS256 token may live. Such tokens are signed by our own
 * secret (the token CLI, the local sign-in, a trusted backend), so nothing
 * else limits how long a leaked one keeps working.
 */
export const MAX_HS256_TOKEN_LIFETIME_SECONDS = 24 * 3600;

/**
 * Verified tokens kept per process. A client sends the same token with every
 * call until it expires, and checking its signature is a large share of a
 * small request (jose's WebCrypto verify runs on the thread pool). Only
 * tokens that verified are kept, each for at most VERIFIED_TOKEN_TTL_MS (so a
 * key withdrawn from a JWKS stops being honoured as soon as jose itself would
 * notice), and expiry is checked again on every use.
 */
const VERIFIED_TOKEN_CACHE_SIZE = 10_000;
const VERIFIED_TOKEN_TTL_MS = 60_000;

interface VerifiedToken {
  identity: Identity;
  /** The token's `exp` in epoch seconds. */
  expiresAt: number;
  /** When this entry must be verified again (epoch ms). */
  recheckAt: number;
}

/**
 * Turns an Authorization header into an AuthState. Never throws: a bad token
 * is a state the procedures answer with a clear UNAUTHORIZED.
 */
export function createTokenVerifier(config: TokenVerifierConfig): TokenVerifier {
  // A KeyObject imported once is several times faster to verify with than a raw secret.
  const key: KeyObject | JWTVerifyGetKey =
    config.kind === 'hs256' ? createSecretKey(Buffer.from(config.secret, 'utf8')) : createRemoteJWKSet(new URL(config.jwksUrl));
  const options = {
    algorithms: config.kind === 'hs256' ? ['HS256'] : ['RS256', 'ES256', 'PS256', 'EdDSA'],
    issuer: config.issuer,
    audience: config.audience,
    // A token without an expiry would be accepted forever.
    requiredClaims: ['exp'],
  };
  const maxLifetimeSeconds = config.kind === 'hs256' ? MAX_HS256_TOKEN_LIFETIME_SECONDS : undefined;

  const verified = new Map<string, VerifiedToken>();

  return async (authorization) => {
    if (!authorization) return { status: 'anonymous' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (!token) return { status: 'invalid', reason: 'TOKEN_INVALID' };

    const now = Date.now();
    const known = verified.get(token);
    if (known && now < known.recheckAt) {
      // jose's rule, with no clock tolerance: expired once `exp` is not after the current second.
      if (known.expiresAt <= Math.floor(now / 1000)) {
        verified.delete(token);
        return { status: 'invalid', reason: 'TOKEN_EXPIRED' };
      }
      return { status: 'authenticated', identity: known.identity };
    }
    if (known) verified.delete(token);

    try {
      const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options);
      const claims = ClaimsSchema.safeParse(payload);
      if (!claims.success) return { status: 'invalid', reason: 'TOKEN_INVALID' };
      if (maxLifetimeSeconds !== undefined && livesTooLong(payload, Math.floor(now / 1000), maxLifetimeSeconds)) {
        return { status: 'invalid', reason: 'TOKEN_INVALID' };
      }
      const identity: Identity = {
        userId: claims.data.sub,
        role: claims.data.role,
        orgId: claims.data.org_id ?? null,
        features: claims.data.features ? Object.freeze([...claims.data.features]) : null,
        expiresAt: payload.exp === undefined ? undefined : payload.exp * 1000,
      };
      if (verified.size >= VERIFIED_TOKEN_CACHE_SIZE) {
        // Oldest first: a Map iterates in insertion order.
        const oldest = verified.keys().next();
        if (!oldest.done) verified.delete(oldest.value);
      }
      // Frozen (its features too): the same object answers every later call with this token.
      Object.freeze(identity);
      // jose checked `exp` is present (requiredClaims) and a number.
      verified.set(token, { identity, expiresAt: payload.exp ?? 0, recheckAt: now + VERIFIED_TOKEN_TTL_MS });
      return { status: 'authenticated', identity };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { status: 'invalid', reason: 'TOKEN_EXPIRED' };
      return { status: 'invalid', reason: 'TOKEN_INVALID' };
    }
  };
}

/**
 * Whether a token is valid for longer than `maxSeconds`: from now, or from
 * its `iat` when it says when it was issued.
 */
function livesTooLong(payload: { exp?: number; iat?: number }, nowSeconds: number, maxSeconds: number): boolean {
  const exp = payload.exp ?? Infinity;
  const issuedAt = payload.iat === undefined ? nowSeconds : Math.min(payload.iat, nowSeconds);
  return exp - issuedAt > maxSeconds;
}
