import type { TRPCRouterRecord } from '@trpc/server';

import { createServiceKey, listServiceKeys, revokeServiceKey } from '../domain/service-keys.ts';
import { IssuedServiceKeyOutputSchema, ServiceKeyListOutputSchema, ServiceKeyOutputSchema } from '../outputs.ts';
import { restRoute } from '../rest-meta.ts';
import { orgStaffProcedure } from '../trpc.ts';
import { CreateServiceKeyInputSchema, ServiceKeyRefInputSchema } from '../validation.ts';

const tags = ['service keys'];
const staffOnly = { 403: 'ROLE_NOT_ALLOWED (org staff only), INSUFFICIENT_SCOPE (a service key never manages keys)' };

/** An org's credentials for its own backend services; managed by its staff, never by a key. */
export const serviceKeysRouter = {
  /** Issues a key; the answer's `secret` is the only time anyone sees it. */
  create: orgStaffProcedure
    .meta(
      restRoute('POST', '/service-keys', {
        summary: 'Issue a service key for your org (its secret is shown in this answer only)',
        tags,
        errors: { ...staffOnly, 409: 'TOO_MANY_SERVICE_KEYS: revoke one first' },
      }),
    )
    .input(CreateServiceKeyInputSchema)
    .output(IssuedServiceKeyOutputSchema)
    .mutation(({ ctx, input }) =>
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
  list: orgStaffProcedure
    .meta(restRoute('GET', '/service-keys', { summary: "Your org's live keys, without secrets", tags, errors: staffOnly }))
    .output(ServiceKeyListOutputSchema)
    .query(({ ctx }) => listServiceKeys(ctx, { orgId: ctx.orgId })),
  /** Refuses the key from now on. */
  revoke: orgStaffProcedure
    .meta(
      restRoute('POST', '/service-keys/{keyId}/revoke', {
        summary: 'Revoke a service key at once',
        tags,
        errors: { ...staffOnly, 404: "SERVICE_KEY_NOT_FOUND: no such key of your org's" },
      }),
    )
    .input(ServiceKeyRefInputSchema)
    .output(ServiceKeyOutputSchema)
    .mutation(({ ctx, input }) => revokeServiceKey(ctx, { orgId: ctx.orgId, keyId: input.keyId })),
} satisfies TRPCRouterRecord;
