import { listOwnedAuditEvents, type AuditAction, type AuditEvent, type Database, type Kysely, type Owner } from '@coach/db';

import { AppError } from './errors.ts';

/** One entry as `audit.list` answers it. */
export interface AuditEventView {
  eventId: string;
  occurredAt: string;
  ownerType: Owner['type'];
  ownerId: string;
  actor: { kind: AuditEvent['actorKind']; id: string };
  action: AuditAction;
  target: { type: AuditEvent['targetType']; id: string | null };
  sessionId: string | null;
  details: AuditEvent['details'];
}

function toAuditEventView(row: AuditEvent): AuditEventView {
  return {
    eventId: String(row.id),
    occurredAt: row.occurredAt.toISOString(),
    ownerType: row.ownerType,
    ownerId: row.ownerId,
    actor: { kind: row.actorKind, id: row.actorId },
    action: row.action,
    target: { type: row.targetType, id: row.targetId },
    sessionId: row.sessionId,
    details: row.details,
  };
}

/**
 * audit.list: the caller's owner's trail, newest first. The cursor is the
 * last entry's id: entries added meanwhile have larger ids, so a walk never
 * sees one twice (packages/api/src/audit/README.md).
 */
export async function listAuditEvents(
  db: Kysely<Database>,
  p: {
    owner: Owner;
    limit: number;
    cursor?: string | undefined;
    action?: AuditAction | undefined;
    targetId?: string | undefined;
  },
): Promise<{ items: AuditEventView[]; nextCursor: string | null }> {
  const rows = await listOwnedAuditEvents(db, {
    owner: p.owner,
    limit: p.limit,
    beforeId: decodeAuditCursor(p.cursor),
    action: p.action,
    targetId: p.targetId,
  });
  const page = rows.slice(0, p.limit);
  const last = page.at(-1);
  return {
    items: page.map(toAuditEventView),
    nextCursor: rows.length > p.limit && last ? Buffer.from(`a:${last.id}`).toString('base64url') : null,
  };
}

function decodeAuditCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const match = /^a:([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = match?.[1] ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(id)) {
    throw new AppError('INVALID_CURSOR', 'The page cursor is not valid. Start again without a cursor.');
  }
  return id;
}
