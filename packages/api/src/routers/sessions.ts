import type { TRPCRouterRecord } from '@trpc/server';

import { deleteSession, erasePlayer } from '../domain/deletion.ts';
import { createSession, getSession, listSessions } from '../domain/sessions.ts';
import {
  ErasureReportOutputSchema,
  SessionDeletionOutputSchema,
  SessionOutputSchema,
  SessionPageOutputSchema,
} from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { protectedProcedure } from '../trpc.ts';
import { CreateSessionInputSchema, ErasePlayerInputSchema, PageInputSchema, SessionRefInputSchema } from '../validation.ts';

const tags = ['sessions'];
const notFound = { 404: 'SESSION_NOT_FOUND: no such session of yours (also for another owner’s session)' };

export const sessionsRouter = {
  create: protectedProcedure
    .meta({ scope: 'sessions:write' })
    .meta(restRoute('POST', '/sessions', { summary: 'Create a video session', tags }))
    .input(CreateSessionInputSchema)
    .output(SessionOutputSchema)
    .mutation(({ ctx, input }) =>
      createSession(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, ...input }),
    ),
  get: protectedProcedure
    .meta({ scope: 'sessions:read' })
    .meta(restRoute('GET', '/sessions/{sessionId}', { summary: 'A session', tags, errors: notFound }))
    .input(SessionRefInputSchema)
    .output(SessionOutputSchema)
    .query(({ ctx, input }) => getSession(ctx.db, { owner: ctx.owner, sessionId: input.sessionId })),
  list: protectedProcedure
    .meta({ scope: 'sessions:read' })
    .meta(
      restRoute('GET', '/sessions', {
        summary: 'Your sessions, newest first, a page at a time',
        tags,
        errors: { 400: 'INVALID_INPUT (with fieldErrors), INVALID_CURSOR' },
      }),
    )
    .input(PageInputSchema.optional())
    .output(SessionPageOutputSchema)
    .query(({ ctx, input }) => listSessions(ctx.db, { owner: ctx.owner, limit: input?.limit ?? 20, cursor: input?.cursor })),
  /**
   * Deletes the session and every video in it (originals, frames, metrics); storage is emptied
   * shortly after by the worker. From then on every procedure answers SESSION_NOT_FOUND/JOB_NOT_FOUND.
   */
  delete: protectedProcedure
    .meta({ scope: 'sessions:write' })
    .meta(
      restRoute('POST', '/sessions/{sessionId}/delete', {
        summary: 'Delete a session with every video in it (a repeat answers SESSION_NOT_FOUND)',
        tags,
        errors: notFound,
      }),
    )
    .input(SessionRefInputSchema)
    .output(SessionDeletionOutputSchema)
    .mutation(({ ctx, input }) =>
      deleteSession(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, sessionId: input.sessionId }),
    ),
  /**
   * An erasure request: removes the player id from every session of the caller's owner, deletes the
   * sessions (and videos) where it was the only player, and reports exactly what went.
   */
  erasePlayer: protectedProcedure
    .meta({ scope: 'sessions:write' })
    .meta(
      restRoute('POST', '/sessions/erase-player', {
        summary: 'Erase a player from your sessions (an erasure request), with a report of what went',
        tags,
      }),
    )
    .input(ErasePlayerInputSchema)
    .output(ErasureReportOutputSchema)
    .mutation(({ ctx, input }) =>
      erasePlayer(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, playerId: input.playerId }),
    ),
} satisfies TRPCRouterRecord;
