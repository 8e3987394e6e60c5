import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import { signDevToken } from '@coach/api';

import { sendHttpError } from '../http-errors.ts';

/** Tokens the local web app gets live as long as those of `pnpm run token`. */
export const DEV_TOKEN_LIFETIME_SECONDS = 12 * 3600;

const IdSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._@-]{1,64}$/, 'must be 1 to 64 letters, digits or . _ @ -');

const DevTokenRequestSchema = z
  .strictObject({
    userId: IdSchema,
    role: z.enum(['coach_pro_plus', 'org_pro']),
    orgId: IdSchema.optional(),
  })
  .refine((r) => r.role !== 'org_pro' || r.orgId !== undefined, { message: 'org_pro needs an orgId', path: ['orgId'] });

/**
 * `POST /dev/token` `{ userId, role, orgId? }` → `{ token, expiresIn }`: a
 * bearer token for a local user, signed with the dev secret, so the local web
 * app can sign in without a terminal. Register it only where
 * `runsOnLocalDefaults` holds: it hands a token to anyone who asks.
 */
export function registerDevTokenRoute(app: FastifyInstance, options: { secret: string }): void {
  app.post('/dev/token', async (request, reply) => {
    const parsed = DevTokenRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return sendHttpError(400, request, reply, `Send { userId, role: "coach_pro_plus" | "org_pro", orgId? } as JSON (${problems}).`);
    }
    const { userId, role, orgId } = parsed.data;
    const token = await signDevToken(options.secret, { userId, role, orgId, expiresIn: `${DEV_TOKEN_LIFETIME_SECONDS}s` });
    return reply.send({ token, expiresIn: DEV_TOKEN_LIFETIME_SECONDS });
  });
}
