import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';

import type { AuthState, Identity } from './identity.ts';

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
  sub: OwnerIdSchema,
  role: z.string().min(1).max(64),
  org_id: OwnerIdSchema.optional(),
  features: z.array(z.string().max(64)).max(100).optional(),
});

export type TokenVerifier = (authorization: string | undefined) => Promise<AuthState>;

/**
 * Turns an Authorization header into an AuthState. Never throws: a bad token
 * is a state the procedures answer with a clear UNAUTHORIZED.
 */
export function createTokenVerifier(config: TokenVerifierConfig): TokenVerifier {
  // A KeyObject imported once is several times faster to verify with than a raw secret.
  const key: KeyObject | JWTVerifyGetKey =
    config.kind === 'hs256'
      ? createSecretKey(Buffer.from(config.secret, 'utf8'))
      : createRemoteJWKSet(new URL(config.jwksUrl));
  const options = {
    algorithms: config.kind === 'hs256' ? ['HS256'] : ['RS256', 'ES256', 'PS256', 'EdDSA'],
    issuer: config.issuer,
    audience: config.audience,
  };

  return async (authorization) => {
    if (!authorization) return { status: 'anonymous' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) return { status: 'invalid', reason: 'TOKEN_INVALID' };
    try {
      const { payload } =
        typeof key === 'function'
          ? await jwtVerify(match[1], key, options)
          : await jwtVerify(match[1], key, options);
      const claims = ClaimsSchema.safeParse(payload);
      if (!claims.success) return { status: 'invalid', reason: 'TOKEN_INVALID' };
      const identity: Identity = {
        userId: claims.data.sub,
        role: claims.data.role,
        orgId: claims.data.org_id ?? null,
        features: claims.data.features ?? null,
      };
      return { status: 'authenticated', identity };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { status: 'invalid', reason: 'TOKEN_EXPIRED' };
      return { status: 'invalid', reason: 'TOKEN_INVALID' };
    }
  };
}
