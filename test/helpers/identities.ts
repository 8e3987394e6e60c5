import type { AuthState, Identity } from '@coach/api';

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
