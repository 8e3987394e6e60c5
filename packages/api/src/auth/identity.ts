/** Roles that may use the video pipeline; any other role is refused. */
export const VIDEO_ROLES = ['coach_pro_plus', 'org_pro'] as const;
export type VideoRole = (typeof VIDEO_ROLES)[number];

export const VIDEO_UPLOAD_FEATURE = 'video_upload_enabled';

/** What the default plan of each role includes when a token names no features. */
export const DEFAULT_PLAN_FEATURES: Record<VideoRole, readonly string[]> = {
  coach_pro_plus: [VIDEO_UPLOAD_FEATURE],
  org_pro: [VIDEO_UPLOAD_FEATURE],
};

/**
 * What a service key may do, one scope per group of procedures (each
 * procedure names its scope in its `meta`). `sessions:write` is apart from
 * `uploads:write`: a service that uploads into sessions staff created needs
 * no right to create sessions, and one that files sessions need not upload.
 * `audit:read` reads the org's audit trail and nothing else.
 */
export const SERVICE_SCOPES = ['sessions:read', 'sessions:write', 'uploads:write', 'jobs:read', 'audit:read'] as const;
export type ServiceScope = (typeof SERVICE_SCOPES)[number];

/** A backend service calling with one of its org's service keys. */
export interface ServicePrincipal {
  keyId: string;
  scopes: readonly ServiceScope[];
}

/** The caller as a verified token (or service key) describes them. */
export interface Identity {
  userId: string;
  role: string;
  orgId: string | null;
  /** Null when the token does not list features: the role's default plan applies. */
  features: readonly string[] | null;
  /** When the token stops being accepted (epoch ms, its `exp`); absent for a token without one. Live streams end then. */
  expiresAt?: number;
  /** Present only for a service key: the caller is that key, acting for `orgId` within its scopes. */
  service?: ServicePrincipal;
}

/** Why a presented credential was refused; each is an app error code of its own. */
export type AuthFailure =
  'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'SERVICE_KEY_INVALID' | 'SERVICE_KEY_EXPIRED' | 'SERVICE_KEY_REVOKED';

export type AuthState =
  | { status: 'anonymous' }
  | { status: 'invalid'; reason: AuthFailure }
  | { status: 'authenticated'; identity: Identity }
  /** The credential could not be checked (the database is down): answered as that outage, never as a refusal. */
  | { status: 'unavailable'; error: unknown };

export function isVideoRole(role: string): role is VideoRole {
  return (VIDEO_ROLES as readonly string[]).includes(role);
}

export function hasFeature(identity: Identity, role: VideoRole, feature: string): boolean {
  return (identity.features ?? DEFAULT_PLAN_FEATURES[role]).includes(feature);
}
