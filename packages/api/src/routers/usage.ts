import type { TRPCRouterRecord } from '@trpc/server';

import { getStorageUsage } from '../domain/storage-usage.ts';
import { protectedProcedure } from '../trpc.ts';

export const usageRouter = {
  /** The caller's owner (the coach, or the organisation of org staff): storage used, reserved and the quota. */
  get: protectedProcedure.query(({ ctx }) => getStorageUsage(ctx.db, ctx.config, ctx.owner)),
} satisfies TRPCRouterRecord;
