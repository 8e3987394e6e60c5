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
