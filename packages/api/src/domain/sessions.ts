import { randomUUID } from 'node:crypto';

import {
  findOwnedSession,
  insertSession,
  listOwnedSessions,
  recordAuditEvent,
  type AuditActor,
  type Database,
  type Kysely,
  type Owner,
  type VideoSession,
} from '@coach/db';

import { AppError } from './errors.ts';
import { decodeCursor, toPage } from './pagination.ts';

export interface SessionView {
  sessionId: string;
  ownerType: Owner['type'];
  ownerId: string;
  title: string;
  playerIds: string[];
  createdBy: string;
  createdAt: string;
}

export function toSessionView(row: VideoSession): SessionView {
  return {
    sessionId: row.id,
    ownerType: row.ownerType,
    ownerId: row.ownerId,
    title: row.title,
    playerIds: row.playerIds,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
  };
}

/** Stores the session with its `session.created` audit entry (counts only: the title and players are content). */
export async function createSession(
  db: Kysely<Database>,
  p: { owner: Owner; userId: string; actor: AuditActor; title: string; playerIds: string[] },
): Promise<SessionView> {
  const row = await db.transaction().execute(async (trx) => {
    const session = await insertSession(trx, {
      id: randomUUID(),
      owner: p.owner,
      createdBy: p.userId,
      title: p.title,
      playerIds: p.playerIds,
    });
    await recordAuditEvent(trx, {
      owner: p.owner,
      actor: p.actor,
      action: 'session.created',
      target: { type: 'session', id: session.id },
      details: { playerCount: session.playerIds.length },
    });
    return session;
  });
  return toSessionView(row);
}

/** Another owner's session is reported exactly like a missing one. */
export async function getSession(db: Kysely<Database>, p: { owner: Owner; sessionId: string }): Promise<SessionView> {
  const row = await findOwnedSession(db, p);
  if (!row) throw sessionNotFound();
  return toSessionView(row);
}

export async function listSessions(db: Kysely<Database>, p: { owner: Owner; limit: number; cursor?: string }) {
  const rows = await listOwnedSessions(db, { owner: p.owner, limit: p.limit, after: decodeCursor(p.cursor) });
  return toPage(rows, p.limit, toSessionView);
}

export function sessionNotFound(): AppError {
  return new AppError('SESSION_NOT_FOUND', 'Video session not found.');
}
