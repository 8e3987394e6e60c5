import type { TRPCRouterRecord } from '@trpc/server';

import { deleteSession, erasePlayer } from '../domain/deletion.ts';
import { createSession, getSession, listSessions } from '../domain/sessions.ts';
import { protectedProcedure } from '../trpc.ts';
import { CreateSessionInputSchema, ErasePlayerInputSchema, PageInputSchema, SessionRefInputSchema } from '../validation.ts';

export const sessionsRouter = {
  create: protectedProcedure
    .input(CreateSessionInputSchema)
    .mutation(({ ctx, input }) => createSession(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, ...input })),
  get: protectedProcedure
    .input(SessionRefInputSchema)
    .query(({ ctx, input }) => getSession(ctx.db, { owner: ctx.owner, sessionId: input.sessionId })),
  list: protectedProcedure
    .input(PageInputSchema.optional())
    .query(({ ctx, input }) => listSessions(ctx.db, { owner: ctx.owner, limit: input?.limit ?? 20, cursor: input?.cursor })),
  /**
   * Deletes the session and every video in it (originals, frames, metrics); storage is emptied
   * shortly after by the worker. From then on every procedure answers SESSION_NOT_FOUND/JOB_NOT_FOUND.
   */
  delete: protectedProcedure
    .input(SessionRefInputSchema)
    .mutation(({ ctx, input }) =>
      deleteSession(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, sessionId: input.sessionId }),
    ),
  /**
   * An erasure request: removes the player id from every session of the caller's owner, deletes the
   * sessions (and videos) where it was the only player, and reports exactly what went.
   */
  erasePlayer: protectedProcedure
    .input(ErasePlayerInputSchema)
    .mutation(({ ctx, input }) => erasePlayer(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, playerId: input.playerId })),
} satisfies TRPCRouterRecord;
