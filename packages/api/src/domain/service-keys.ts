import {
  insertServiceKey,
  listLiveServiceKeys,
  revokeServiceKey as revokeStoredServiceKey,
  type Database,
  type Kysely,
  type ServiceKeySummary,
} from '@coach/db';

import type { ServiceScope } from '../auth/identity.ts';
import { mintServiceKey, SERVICE_KEY_PREFIX, type ServiceKeyVerifier } from '../auth/service-keys.ts';
import { AppError } from './errors.ts';

/** Live keys one org may hold: enough for every service it runs, and `serviceKeys.list` shows them all. */
export const MAX_LIVE_SERVICE_KEYS = 50;

/** A key as its org's staff see it: never its secret or hash. */
export interface ServiceKeyView {
  keyId: string;
  /** The start of the credential (`cpk_<keyId>_`), to tell which key a service holds. */
  prefix: string;
  name: string;
  scopes: string[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  /** Within a minute: uses are recorded at most once a minute per key. */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function toServiceKeyView(row: ServiceKeySummary): ServiceKeyView {
  return {
    keyId: row.id,
    prefix: `${SERVICE_KEY_PREFIX}${row.id}_`,
    name: row.name,
    scopes: row.scopes,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

interface ServiceKeyDeps {
  db: Kysely<Database>;
  now: () => Date;
}

/**
 * Issues a key for the org. Its secret is in this answer only; the table keeps
 * a hash. The key carries the creator's plan (`features`), so it never does
 * more than its creator could.
 */
export async function createServiceKey(
  deps: ServiceKeyDeps,
  p: {
    orgId: string;
    userId: string;
    features: readonly string[] | null;
    name: string;
    scopes: ServiceScope[];
    expiresAt: string | undefined;
  },
): Promise<ServiceKeyView & { secret: string }> {
  const expiresAt = p.expiresAt === undefined ? null : new Date(p.expiresAt);
  if (expiresAt && expiresAt.getTime() <= deps.now().getTime()) {
    throw new AppError(
      'INVALID_INPUT',
      'Invalid input: expiresAt: must be in the future (or left out for a key that does not expire)',
    );
  }
  const minted = mintServiceKey();
  const row = await insertServiceKey(deps.db, {
    id: minted.keyId,
    orgId: p.orgId,
    name: p.name,
    scopes: p.scopes,
    features: p.features ? [...p.features] : null,
    secretHash: minted.secretHash,
    createdBy: p.userId,
    expiresAt,
    maxLiveKeys: MAX_LIVE_SERVICE_KEYS,
  });
  if (!row) {
    throw new AppError(
      'TOO_MANY_SERVICE_KEYS',
      `Your organisation already has ${MAX_LIVE_SERVICE_KEYS} service keys. Revoke one it no longer uses (serviceKeys.revoke) first.`,
    );
  }
  return { ...toServiceKeyView(row), secret: minted.token };
}

/** Every live key of the org, newest first (expired ones too, until revoked). */
export async function listServiceKeys(deps: ServiceKeyDeps, p: { orgId: string }): Promise<{ items: ServiceKeyView[] }> {
  const rows = await listLiveServiceKeys(deps.db, { orgId: p.orgId, limit: MAX_LIVE_SERVICE_KEYS });
  return { items: rows.map(toServiceKeyView) };
}

/**
 * Revokes the org's key: refused from the next call on in this process, within
 * SERVICE_KEY_CACHE_MS in others. Repeating it answers the first revocation.
 */
export async function revokeServiceKey(
  deps: ServiceKeyDeps & { serviceKeys: ServiceKeyVerifier },
  p: { orgId: string; keyId: string },
): Promise<ServiceKeyView> {
  const row = await revokeStoredServiceKey(deps.db, { id: p.keyId, orgId: p.orgId, at: deps.now() });
  if (!row) throw new AppError('SERVICE_KEY_NOT_FOUND', 'Your organisation has no service key with this id.');
  deps.serviceKeys.forget(p.keyId);
  return toServiceKeyView(row);
}
