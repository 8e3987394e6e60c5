import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { signDevToken, type AppErrorCode } from '@coach/api';

import { sendHttpError } from '../http-errors.ts';
import { isLoopbackHostHeader } from './local-defaults.ts';

/** Tokens the local web app gets live as long as those of `pnpm run token`. */
export const DEV_TOKEN_LIFETIME_SECONDS = 12 * 3600;

/** The appCode of a token request refused for where it came from (not for what it asked). */
export const DEV_TOKEN_FORBIDDEN: AppErrorCode = 'DEV_TOKEN_FORBIDDEN';

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
 *
 * Listening on loopback does not keep web pages out: a site whose domain is
 * rebound to 127.0.0.1 reaches this port as its own origin. So the route
 * answers only requests addressed to a loopback name (Host) and, when a
 * browser says where the request comes from (Origin), only the dev CORS
 * allow-list's origins.
 */
export function registerDevTokenRoute(
  app: FastifyInstance,
  options: { secret: string; allowedOrigins: readonly string[] },
): void {
  const allowedOrigins = new Set(options.allowedOrigins);
  app.post('/dev/token', {
    // Before the body is parsed: a refused caller learns nothing about the input it sent.
    onRequest: async (request, reply) => {
      if (!isLoopbackHostHeader(request.headers.host)) {
        return sendForbidden(
          request,
          reply,
          'Local tokens are handed out only to requests addressed to this machine as 127.0.0.1, localhost or [::1]: reach the API by one of those names.',
        );
      }
      const { origin } = request.headers;
      if (origin !== undefined && !allowedOrigins.has(origin)) {
        return sendForbidden(
          request,
          reply,
          `Local tokens are handed out only to the local web app (${[...allowedOrigins].join(', ')}), not to pages from ${origin}.`,
        );
      }
      return undefined;
    },
    handler: async (request, reply) => {
      const parsed = DevTokenRequestSchema.safeParse(request.body);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
        return sendHttpError(
          400,
          request,
          reply,
          `Send { userId, role: "coach_pro_plus" | "org_pro", orgId? } as JSON (${problems}).`,
        );
      }
      const { userId, role, orgId } = parsed.data;
      const token = await signDevToken(options.secret, { userId, role, orgId, expiresIn: `${DEV_TOKEN_LIFETIME_SECONDS}s` });
      return reply.send({ token, expiresIn: DEV_TOKEN_LIFETIME_SECONDS });
    },
  });
}

/** 403 in the API's error shape (tRPC's FORBIDDEN), with this route's own appCode. */
function sendForbidden(request: FastifyRequest, reply: FastifyReply, message: string): FastifyReply {
  return reply.code(403).send({
    error: {
      message,
      code: -32003,
      data: {
        code: 'FORBIDDEN',
        httpStatus: 403,
        path: null,
        appCode: DEV_TOKEN_FORBIDDEN,
        requestId: request.id,
        fieldErrors: null,
      },
    },
  });
}
