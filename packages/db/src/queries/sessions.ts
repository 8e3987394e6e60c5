import type { Kysely } from 'kysely';

import type { Database, VideoSession } from '../schema.ts';
import { isAfterCursor, type Owner, type PageCursor } from './owner.ts';

export interface InsertSessionParams {
  id: string;
  owner: Owner;
  createdBy: string;
  title: string;
  playerIds: string[];
}

/**
 * Inserts the session and, in the same statement, its owner's `owner_usage`
 * row if the owner has none yet, so the owner's first upload.initiate finds
 * the row its reservation updates.
 */
export async function insertSession(db: Kysely<Database>, params: InsertSessionParams): Promise<VideoSession> {
  return db
    .with('session', (q) =>
      q
        .insertInto('videoSessions')
        .values({
          id: params.id,
          ownerType: params.owner.type,
          ownerId: params.owner.id,
          createdBy: params.createdBy,
          title: params.title,
          playerIds: params.playerIds,
        })
        .returningAll(),
    )
    .with('usage', (q) =>
      q
        .insertInto('ownerUsage')
        .values({ ownerType: params.owner.type, ownerId: params.owner.id, quotaBytes: null })
        .onConflict((oc) => oc.columns(['ownerType', 'ownerId']).doNothing()),
    )
    .selectFrom('session')
    .selectAll()
    .executeTakeFirstOrThrow();
}

/** The session if it exists, belongs to `owner` and is not deleted; otherwise undefined, whichever the reason. */
export async function findOwnedSession(
  db: Kysely<Database>,
  params: { sessionId: string; owner: Owner },
): Promise<VideoSession | undefined> {
  return db
    .selectFrom('videoSessions')
    .selectAll()
    .where('id', '=', params.sessionId)
    .where('ownerType', '=', params.owner.type)
    .where('ownerId', '=', params.owner.id)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}

/** Newest first; fetches one extra row so the caller knows whether another page exists. */
export async function listOwnedSessions(
  db: Kysely<Database>,
  params: { owner: Owner; limit: number; after?: PageCursor },
): Promise<VideoSession[]> {
  const { after } = params;
  let query = db
    .selectFrom('videoSessions')
    .selectAll()
    .where('ownerType', '=', params.owner.type)
    .where('ownerId', '=', params.owner.id)
    .where('deletedAt', 'is', null);
  if (after) query = query.where(isAfterCursor(after));
  return query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(params.limit + 1)
    .execute();
}
