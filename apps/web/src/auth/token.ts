/** Who a bearer token says the user is; read for display only (the API verifies the signature). */
export interface TokenClaims {
  userId: string;
  role: string;
  orgId: string | null;
  /** Milliseconds since the epoch; null when the token never expires. */
  expiresAt: number | null;
}

/** The claims of a JWT, or undefined when the text is not one. */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const payload = token.split('.')[1];
  if (token.split('.').length !== 3 || !payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims: unknown = JSON.parse(json);
    if (typeof claims !== 'object' || claims === null) return undefined;
    const { sub, role, org_id: orgId, exp } = claims as Record<string, unknown>;
    if (typeof sub !== 'string' || typeof role !== 'string') return undefined;
    return {
      userId: sub,
      role,
      orgId: typeof orgId === 'string' ? orgId : null,
      expiresAt: typeof exp === 'number' ? exp * 1000 : null,
    };
  } catch {
    return undefined;
  }
}

export function isExpired(claims: TokenClaims, now = Date.now()): boolean {
  return claims.expiresAt !== null && claims.expiresAt <= now;
}

const STORAGE_KEY = 'coach-plus.token';

/**
 * The token survives a reload, so an interrupted upload can be resumed. A
 * production app keeps tokens where its identity provider's SDK says.
 */
export const tokenStorage = {
  load(): string | null {
    const token = localStorage.getItem(STORAGE_KEY);
    const claims = token ? readTokenClaims(token) : undefined;
    return token && claims && !isExpired(claims) ? token : null;
  },
  save(token: string): void {
    localStorage.setItem(STORAGE_KEY, token);
  },
  clear(): void {
    localStorage.removeItem(STORAGE_KEY);
  },
};
