import type { AuthState, Identity, ServiceKeyVerifier, ServiceScope } from '@coach/api';

// For tests of packages that drive the API only through these helpers (the worker's end-to-end tests).
export type { Identity };

export const coachA: Identity = { userId: 'coach-a', role: 'coach_pro_plus', orgId: null, features: null };
export const coachB: Identity = { userId: 'coach-b', role: 'coach_pro_plus', orgId: null, features: null };
export const orgUserX1: Identity = { userId: 'org-x-staff-1', role: 'org_pro', orgId: 'org-x', features: null };
export const orgUserX2: Identity = { userId: 'org-x-staff-2', role: 'org_pro', orgId: 'org-x', features: null };
export const orgUserY: Identity = { userId: 'org-y-staff', role: 'org_pro', orgId: 'org-y', features: null };
/** A coach whose id equals org-x's id: proves owner_type is part of every check. */
export const coachNamedLikeOrg: Identity = { userId: 'org-x', role: 'coach_pro_plus', orgId: null, features: null };
export const freeUser: Identity = { userId: 'free-1', role: 'coach_free', orgId: null, features: null };
export const coachWithoutUpload: Identity = { ...coachA, features: ['analytics'] };

export const signedIn = (identity: Identity): AuthState => ({ status: 'authenticated', identity });
export const anonymous: AuthState = { status: 'anonymous' };

/** What a test needs of an API to issue keys: a caller per credential and the process's key verifier. */
interface KeyIssuingApi {
  callerFor(auth: AuthState): { serviceKeys: { create(input: ServiceKeyInput): Promise<{ keyId: string; secret: string }> } };
  deps: { serviceKeys: ServiceKeyVerifier };
}
type ServiceKeyInput = { name: string; scopes: ServiceScope[]; expiresAt?: string };

export interface IssuedServiceKey {
  keyId: string;
  /** The whole credential (`cpk_…`), as the creator was shown it once. */
  secret: string;
  /** What the key authenticates as, through the real verifier (read again on each call). */
  auth(): Promise<AuthState>;
}

export const ALL_SCOPES: ServiceScope[] = ['sessions:read', 'sessions:write', 'uploads:write', 'jobs:read', 'audit:read'];

/**
 * A service key of `staff`'s organisation, issued by `serviceKeys.create` as a
 * person would, and checked by the same verifier HTTP requests go through.
 */
export async function issueServiceKey(
  api: KeyIssuingApi,
  staff: Identity,
  scopes: ServiceScope[] = ALL_SCOPES,
  options: { name?: string; expiresAt?: string } = {},
): Promise<IssuedServiceKey> {
  const created = await api
    .callerFor(signedIn(staff))
    .serviceKeys.create({ name: options.name ?? `key for ${scopes.join(' ')}`, scopes, expiresAt: options.expiresAt });
  return { keyId: created.keyId, secret: created.secret, auth: () => api.deps.serviceKeys.verify(created.secret) };
}
