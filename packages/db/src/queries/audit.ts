import type { Kysely } from 'kysely';

import type { AuditAction, AuditActorKind, AuditDetails, AuditEvent, AuditTargetType, Database } from '../schema.ts';
import type { Owner } from './owner.ts';

/** Who did it: a user (the token's subject), a service key (its id) or a part of the system (`sweeper`, `upload-events`, …). */
export interface AuditActor {
  kind: AuditActorKind;
  id: string;
}

/** One action to record; see packages/api/src/audit/README.md for what each action's details may hold. */
export interface AuditEntry {
  owner: Owner;
  actor: AuditActor;
  action: AuditAction;
  target: { type: 'session' | 'job'; id: string } | { type: 'player' | 'retention'; id: null };
  /** The job's session, for a job's entries. */
  sessionId?: string | null;
  /** Non-content facts only: never a title, a player id, a file name or a storage key. */
  details?: AuditDetails;
}

/**
 * Appends entries to the audit trail. Pass the transaction that makes the
 * change they describe, so the change and its entries commit together; for
 * an action that changes no row (signing a link), call it before answering.
 */
export async function recordAuditEvents(db: Kysely<Database>, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('auditEvents')
    .values(
      entries.map((entry) => ({
        ownerType: entry.owner.type,
        ownerId: entry.owner.id,
        actorKind: entry.actor.kind,
        actorId: entry.actor.id,
        action: entry.action,
        targetType: entry.target.type satisfies AuditTargetType,
        targetId: entry.target.id,
        sessionId: entry.sessionId ?? null,
        details: JSON.stringify(entry.details ?? {}),
      })),
    )
    .execute();
}

/** One entry; see `recordAuditEvents`. */
export async function recordAuditEvent(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await recordAuditEvents(db, [entry]);
}

/**
 * The owner's entries, newest first, strictly before the entry `beforeId`,
 * `limit + 1` of them (one more tells whether a next page exists). Another
 * owner's entries are never read.
 */
export async function listOwnedAuditEvents(
  db: Kysely<Database>,
  params: { owner: Owner; limit: number; beforeId?: number; action?: AuditAction; targetId?: string },
): Promise<AuditEvent[]> {
  let query = db
    .selectFrom('auditEvents')
    .selectAll()
    .where('ownerType', '=', params.owner.type)
    .where('ownerId', '=', params.owner.id);
  if (params.beforeId !== undefined) query = query.where('id', '<', params.beforeId);
  if (params.action) query = query.where('action', '=', params.action);
  if (params.targetId) query = query.where('targetId', '=', params.targetId);
  return query
    .orderBy('id', 'desc')
    .limit(params.limit + 1)
    .execute();
}
