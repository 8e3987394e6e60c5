import type { Owner } from '@coach/db';

import type { Identity, VideoRole } from '../auth/identity.ts';
import { AppError } from './errors.ts';

/**
 * The owner a caller acts for: a coach for themselves, org staff for their
 * organisation. Every session and job query is scoped by it.
 */
export function ownerFor(identity: Identity, role: VideoRole): Owner {
  if (role === 'coach_pro_plus') return { type: 'coach', id: identity.userId };
  if (!identity.orgId) {
    throw new AppError(
      'ORG_CLAIM_MISSING',
      'Your organisation account has no organisation id (org_id). Sign in again or ask your administrator.',
    );
  }
  return { type: 'org', id: identity.orgId };
}
