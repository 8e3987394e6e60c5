import type { TRPCRouterRecord } from '@trpc/server';

import { getStorageUsage } from '../domain/storage-usage.ts';
import { StorageUsageOutputSchema } from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { protectedProcedure } from '../trpc.ts';

export const usageRouter = {
  /** The caller's owner (the coach, or the organisation of org staff): storage used, reserved and the quota. */
  get: protectedProcedure
    // What a service that uploads needs to know before it starts an upload.
    .meta({ scope: 'uploads:write' })
    .meta(
      restRoute('GET', '/usage', { summary: 'Your storage: used, held by unfinished uploads, and the quota', tags: ['usage'] }),
    )
    .output(StorageUsageOutputSchema)
    .query(({ ctx }) => getStorageUsage(ctx.db, ctx.config, ctx.owner)),
} satisfies TRPCRouterRecord;
