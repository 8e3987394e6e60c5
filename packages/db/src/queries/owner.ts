import { sql, type RawBuilder } from 'kysely';

import type { OwnerType } from '../schema.ts';

/** The (owner_type, owner_id) pair every session and job query is scoped by. */
export interface Owner {
  type: OwnerType;
  id: string;
}

/** A keyset position: rows strictly after (createdAt, id) in newest-first order. */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

/**
 * Rows strictly after `after` in (created_at DESC, id DESC) order, as one
 * row comparison that the (…, created_at desc, id desc) indexes serve.
 */
export function isAfterCursor(after: PageCursor): RawBuilder<boolean> {
  return sql<boolean>`(created_at, id) < (${after.createdAt}, ${after.id}::uuid)`;
}
