import { createSecretKey } from 'node:crypto';

import { SignJWT } from 'jose';

export interface DevTokenClaims {
  userId: string;
  role: string;
  orgId?: string;
  features?: readonly string[];
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 token for local development and tests; production tokens come from the identity provider. */
export async function signDevToken(secret: string, claims: DevTokenClaims): Promise<string> {
  let jwt = new SignJWT({
    role: claims.role,
    ...(claims.orgId ? { org_id: claims.orgId } : {}),
    ...(claims.features ? { features: claims.features } : {}),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? '12h');
  if (claims.issuer) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(createSecretKey(Buffer.from(secret, 'utf8')));
}
