import type { AuditActor } from '@coach/db';

import type { Identity } from '../auth/identity.ts';

/**
 * Who the audit trail names for a call: the service key itself for a key
 * (it acts on its own, whoever issued it), else the signed-in user.
 */
export function auditActorOf(identity: Pick<Identity, 'userId' | 'service'>): AuditActor {
  return identity.service ? { kind: 'service_key', id: identity.service.keyId } : { kind: 'user', id: identity.userId };
}
