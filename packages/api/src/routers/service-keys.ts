import type { TRPCRouterRecord } from '@trpc/server';

import { createServiceKey, listServiceKeys, revokeServiceKey } from '../domain/service-keys.ts';
import { orgStaffProcedure } from '../trpc.ts';
import { CreateServiceKeyInputSchema, ServiceKeyRefInputSchema } from '../validation.ts';

/** An org's credentials for its own backend services; managed by its staff, never by a key. */
export const serviceKeysRouter = {
  /** Issues a key; the answer's `secret` is the only time anyone sees it. */
  create: orgStaffProcedure.input(CreateServiceKeyInputSchema).mutation(({ ctx, input }) =>
    createServiceKey(ctx, {
      orgId: ctx.orgId,
      userId: ctx.user.userId,
      features: ctx.user.features,
      name: input.name,
      scopes: input.scopes,
      expiresAt: input.expiresAt,
    }),
  ),
  /** The org's live keys, without secrets. */
  list: orgStaffProcedure.query(({ ctx }) => listServiceKeys(ctx, { orgId: ctx.orgId })),
  /** Refuses the key from now on. */
  revoke: orgStaffProcedure
    .input(ServiceKeyRefInputSchema)
    .mutation(({ ctx, input }) => revokeServiceKey(ctx, { orgId: ctx.orgId, keyId: input.keyId })),
} satisfies TRPCRouterRecord;
