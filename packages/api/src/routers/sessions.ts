import type { TRPCRouterRecord } from '@trpc/server';

import { createSession, getSession, listSessions } from '../domain/sessions.ts';
import { protectedProcedure } from '../trpc.ts';
import { CreateSessionInputSchema, PageInputSchema, SessionRefInputSchema } from '../validation.ts';

export const sessionsRouter = {
  create: protectedProcedure
    .meta({ scope: 'sessions:write' })
    .input(CreateSessionInputSchema)
    .mutation(({ ctx, input }) => createSession(ctx.db, { owner: ctx.owner, userId: ctx.user.userId, ...input })),
  get: protectedProcedure
    .meta({ scope: 'sessions:read' })
    .input(SessionRefInputSchema)
    .query(({ ctx, input }) => getSession(ctx.db, { owner: ctx.owner, sessionId: input.sessionId })),
  list: protectedProcedure
    .meta({ scope: 'sessions:read' })
    .input(PageInputSchema.optional())
    .query(({ ctx, input }) => listSessions(ctx.db, { owner: ctx.owner, limit: input?.limit ?? 20, cursor: input?.cursor })),
} satisfies TRPCRouterRecord;
