/** Roles that may use the video pipeline; any other role is refused. */
export const VIDEO_ROLES = ['coach_pro_plus', 'org_pro'] as const;
export type VideoRole = (typeof VIDEO_ROLES)[number];

export const VIDEO_UPLOAD_FEATURE = 'video_upload_enabled';

/** What the default plan of each role includes when a token names no features. */
export const DEFAULT_PLAN_FEATURES: Record<VideoRole, readonly string[]> = {
  coach_pro_plus: [VIDEO_UPLOAD_FEATURE],
  org_pro: [VIDEO_UPLOAD_FEATURE],
};

/** The caller as a verified token describes them. */
export interface Identity {
  userId: string;
  role: string;
  orgId: string | null;
  /** Null when the token does not list features: the role's default plan applies. */
  features: readonly string[] | null;
  /** When the token stops being accepted (epoch ms, its `exp`); absent for a token without one. Live streams end then. */
  expiresAt?: number;
}

export type AuthState =
  | { status: 'anonymous' }
  | { status: 'invalid'; reason: 'TOKEN_INVALID' | 'TOKEN_EXPIRED' }
  | { status: 'authenticated'; identity: Identity };

export function isVideoRole(role: string): role is VideoRole {
  return (VIDEO_ROLES as readonly string[]).includes(role);
}

export function hasFeature(identity: Identity, role: VideoRole, feature: string): boolean {
  return (identity.features ?? DEFAULT_PLAN_FEATURES[role]).includes(feature);
}
