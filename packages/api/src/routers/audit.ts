import type { TRPCRouterRecord } from '@trpc/server';

import { listAuditEvents } from '../domain/audit.ts';
import { AuditEventPageOutputSchema } from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { protectedProcedure } from '../trpc.ts';
import { ListAuditEventsInputSchema } from '../validation.ts';

export const auditRouter = {
  /**
   * The audit trail of the caller's owner (a coach's own; an organisation's for its staff and keys),
   * newest first: who created, uploaded, completed, signed links to, deleted and erased what, and when.
   */
  list: protectedProcedure
    .meta({ scope: 'audit:read' })
    .meta(
      restRoute('GET', '/audit', {
        summary: 'Your audit trail, newest first, a page at a time (optionally one action or one session or job)',
        tags: ['audit'],
        errors: { 400: 'INVALID_INPUT (with fieldErrors), INVALID_CURSOR' },
      }),
    )
    .input(ListAuditEventsInputSchema.optional())
    .output(AuditEventPageOutputSchema)
    .query(({ ctx, input }) =>
      listAuditEvents(ctx.db, {
        owner: ctx.owner,
        limit: input?.limit ?? 20,
        cursor: input?.cursor,
        action: input?.action,
        targetId: input?.targetId,
      }),
    ),
} satisfies TRPCRouterRecord;
