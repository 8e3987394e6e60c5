import type { TRPCRouterRecord } from '@trpc/server';

import { getRetention, resetRetention, setRetention } from '../domain/retention.ts';
import { RetentionOutputSchema } from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { protectedProcedure } from '../trpc.ts';
import { SetRetentionInputSchema } from '../validation.ts';

const tags = ['retention'];

/**
 * The caller's owner's retention policy (a coach's own, org staff's for their
 * organisation; the owner always comes from the credential): how many days
 * after its upload a video loses its original, and is deleted whole. The
 * worker's sweeper enforces it (packages/jobs/src/deletion/RETENTION.md).
 */
export const retentionRouter = {
  get: protectedProcedure
    .meta({ scope: 'sessions:read' })
    .meta(
      restRoute('GET', '/retention', {
        summary: 'Your retention policy: days until originals, and whole videos, are removed; yours or the defaults',
        tags,
      }),
    )
    .output(RetentionOutputSchema)
    .query(({ ctx }) => getRetention(ctx.db, ctx.config, ctx.owner)),
  set: protectedProcedure
    .meta({ scope: 'sessions:write' })
    .meta(
      restRoute('POST', '/retention', {
        summary: 'Choose your retention policy (both values; null keeps); applied from the next sweep, to every video',
        tags,
        errors: {
          400: 'INVALID_INPUT (with fieldErrors): whole days 1..3650, deleteOriginalsAfterDays below deleteEverythingAfterDays',
        },
      }),
    )
    .input(SetRetentionInputSchema)
    .output(RetentionOutputSchema)
    .mutation(({ ctx, input }) =>
      setRetention(ctx.db, ctx.config, { owner: ctx.owner, userId: ctx.user.userId, actor: ctx.actor, policy: input }),
    ),
  reset: protectedProcedure
    .meta({ scope: 'sessions:write' })
    .meta(restRoute('POST', '/retention/reset', { summary: 'Forget your retention policy: the defaults apply again', tags }))
    .output(RetentionOutputSchema)
    .mutation(({ ctx }) => resetRetention(ctx.db, ctx.config, { owner: ctx.owner, actor: ctx.actor })),
} satisfies TRPCRouterRecord;
