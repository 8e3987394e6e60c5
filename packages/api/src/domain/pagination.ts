import { z } from 'zod';

import type { PageCursor } from '@coach/db';

import { AppError } from './errors.ts';

const CursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() });

/** Opaque to clients: base64url of the last row's (createdAt, id). */
export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: row.createdAt.toISOString(), id: row.id })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): PageCursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = CursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: new Date(parsed.t), id: parsed.id };
  } catch {
    throw new AppError('INVALID_CURSOR', 'The page cursor is not valid. Start again without a cursor.');
  }
}

/** Splits a result fetched with `limit + 1` rows into a page and the next cursor. */
export function toPage<TRow extends { createdAt: Date; id: string }, TItem>(
  rows: TRow[],
  limit: number,
  view: (row: TRow) => TItem,
): { items: TItem[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
