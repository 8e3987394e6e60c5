import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

import { findServiceKey, touchServiceKey, type Database, type Kysely, type ServiceKey } from '@coach/db';
import type { Logger } from '@coach/jobs';

import { SERVICE_SCOPES, type AuthState, type Identity, type ServiceScope } from './identity.ts';
import type { TokenVerifier } from './verify-token.ts';

/**
 * A service key is `cpk_<key id>_<secret>`: 16 hex characters of key id (the
 * public half, shown in `serviceKeys.list`, the lookup) and 32 random bytes of
 * secret, base64url. The prefix tells it from a JWT (which starts `eyJ`) in
 * the same `Authorization: Bearer` header, and lets secret scanners find leaked ones.
 */
export const SERVICE_KEY_PREFIX = 'cpk_';
const KEY_ID_BYTES = 8;
const SECRET_BYTES = 32;
const SERVICE_KEY_PATTERN = /^cpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** How long a process reuses a key it read (its revocation in another process applies within this). */
export const SERVICE_KEY_CACHE_MS = 5_000;
/** `last_used_at` is written at most once per key in this window. */
export const SERVICE_KEY_TOUCH_SECONDS = 60;
/**
 * A `jobs.watch` stream opened with a service key ends this long after the key
 * was read; the client reconnects and the key is checked again, so a revoked
 * key's open stream stops within this bound too.
 */
export const SERVICE_KEY_STREAM_RECHECK_MS = 5 * 60_000;

const CACHE_SIZE = 10_000;

/** The user id a service key acts under: its rate limits, `created_by`, idempotency keys. JWT subjects cannot take this form. */
export const SERVICE_USER_ID_PREFIX = 'service:';

export interface MintedServiceKey {
  keyId: string;
  /** The whole credential, shown to its creator once and never stored. */
  token: string;
  secretHash: Buffer;
}

export function mintServiceKey(): MintedServiceKey {
  const keyId = randomBytes(KEY_ID_BYTES).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { keyId, token: `${SERVICE_KEY_PREFIX}${keyId}_${secret}`, secretHash: hashSecret(secret) };
}

/**
 * SHA-256, not a password hash (bcrypt, scrypt, argon2): those are slow to
 * make guessing a low-entropy password expensive. This secret is 256 random
 * bits, which no amount of guessing finds, so a stolen table gives nothing a
 * slow hash would protect better, and a fast hash keeps checking a key on
 * every request cheap.
 */
function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/**
 * The caller an `Authorization` header names: a service key (`Bearer cpk_…`)
 * or else a user's JWT. One header for both, so every client that sends a
 * bearer token (the typed client, curl, generated REST clients) sends a
 * service key the same way.
 */
export function authenticateRequest(
  authorization: string | undefined,
  verifiers: { verifyToken: TokenVerifier; serviceKeys: ServiceKeyVerifier },
): Promise<AuthState> {
  const token = authorization === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return token?.startsWith(SERVICE_KEY_PREFIX) ? verifiers.serviceKeys.verify(token) : verifiers.verifyToken(authorization);
}

interface CachedKey {
  row: ServiceKey;
  identity: Identity;
  /** When this entry must be read again (epoch ms). */
  recheckAt: number;
}

export interface ServiceKeyVerifierOptions {
  db: Kysely<Database>;
  now?: () => Date;
  /** Where a failed `last_used_at` write is reported (it never fails the call). */
  logger: Logger;
}

export interface ServiceKeyVerifier {
  /** The principal a `cpk_…` credential stands for, or why it is refused. Never throws: a database outage is a state. */
  verify(token: string): Promise<AuthState>;
  /** Forgets a key this process read, so its revocation applies here at once. */
  forget(keyId: string): void;
}

/**
 * Checks service keys against `service_keys`, reading each key at most once
 * per SERVICE_KEY_CACHE_MS per process (concurrent calls share the read). The secret is compared (as hashes, in
 * constant time) on every call, and expiry checked on every call.
 */
export function createServiceKeyVerifier(options: ServiceKeyVerifierOptions): ServiceKeyVerifier {
  const now = options.now ?? (() => new Date());
  const cached = new Map<string, CachedKey>();
  /** Reads in flight: concurrent calls with one key share one read. */
  const loading = new Map<string, Promise<CachedKey | undefined>>();
  const touchedAt = new Map<string, number>();

  const load = async (keyId: string, at: number): Promise<CachedKey | undefined> => {
    const row = await findServiceKey(options.db, { id: keyId });
    if (!row) return undefined;
    const entry: CachedKey = { row, identity: identityOf(row, at), recheckAt: at + SERVICE_KEY_CACHE_MS };
    if (cached.size >= CACHE_SIZE) {
      // Oldest first: a Map iterates in insertion order.
      const oldest = cached.keys().next();
      if (!oldest.done) cached.delete(oldest.value);
    }
    // Revoked keys too: a revocation is final, and a service still retrying one costs no reads.
    cached.set(keyId, entry);
    return entry;
  };

  const touch = (keyId: string, at: number) => {
    const last = touchedAt.get(keyId);
    if (last !== undefined && at - last < SERVICE_KEY_TOUCH_SECONDS * 1000) return;
    if (touchedAt.size >= CACHE_SIZE) touchedAt.clear();
    touchedAt.set(keyId, at);
    // Not awaited: the call does not wait for bookkeeping, and a failed write only delays `last_used_at`.
    touchServiceKey(options.db, { id: keyId, withinSeconds: SERVICE_KEY_TOUCH_SECONDS }).catch((error: unknown) => {
      options.logger.warn({ err: error, keyId }, 'service key last_used_at not recorded');
    });
  };

  return {
    async verify(token) {
      const match = SERVICE_KEY_PATTERN.exec(token);
      const keyId = match?.[1];
      const secret = match?.[2];
      if (!keyId || !secret) return { status: 'invalid', reason: 'SERVICE_KEY_INVALID' };
      const at = now().getTime();
      let entry = cached.get(keyId);
      if (!entry || at >= entry.recheckAt) {
        cached.delete(keyId);
        let read = loading.get(keyId);
        if (!read) {
          read = load(keyId, at).finally(() => loading.delete(keyId));
          loading.set(keyId, read);
        }
        try {
          entry = await read;
        } catch (error) {
          return { status: 'unavailable', error };
        }
      }
      // The state of a key is told only to a caller who holds its secret.
      if (!entry || !timingSafeEqual(hashSecret(secret), entry.row.secretHash)) {
        return { status: 'invalid', reason: 'SERVICE_KEY_INVALID' };
      }
      if (entry.row.revokedAt !== null) return { status: 'invalid', reason: 'SERVICE_KEY_REVOKED' };
      if (entry.row.expiresAt !== null && entry.row.expiresAt.getTime() <= at) {
        return { status: 'invalid', reason: 'SERVICE_KEY_EXPIRED' };
      }
      touch(keyId, at);
      return { status: 'authenticated', identity: entry.identity };
    },
    forget(keyId) {
      cached.delete(keyId);
    },
  };
}

/**
 * A key acts as its org's staff would (role `org_pro`, owner `(org, org_id)`),
 * with its creator's plan, narrowed to its scopes.
 */
function identityOf(row: ServiceKey, readAt: number): Identity {
  const scopes = row.scopes.filter((scope): scope is ServiceScope => (SERVICE_SCOPES as readonly string[]).includes(scope));
  const recheckAt = readAt + SERVICE_KEY_STREAM_RECHECK_MS;
  return Object.freeze({
    userId: `${SERVICE_USER_ID_PREFIX}${row.id}`,
    role: 'org_pro',
    orgId: row.orgId,
    features: row.features ? Object.freeze([...row.features]) : null,
    expiresAt: row.expiresAt ? Math.min(row.expiresAt.getTime(), recheckAt) : recheckAt,
    service: Object.freeze({ keyId: row.id, scopes: Object.freeze(scopes) }),
  });
}
