import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { initTRPC, TRPCError, type ProcedureType } from '@trpc/server';
import { ZodError } from 'zod';

import { AwsMisconfiguredError, AwsUnavailableError } from '@coach/aws';
import { isDatabaseUnavailable } from '@coach/db';
import { productTracer, signals } from '@coach/jobs';

import { auditActorOf } from './audit/actor.ts';
import { hasFeature, isVideoRole, VIDEO_UPLOAD_FEATURE, type AuthFailure, type ServiceScope } from './auth/identity.ts';
import type { Context } from './context.ts';
import { APP_ERROR_CODES, appCodeForTrpcCode, AppError, type AppErrorCode } from './domain/errors.ts';
import { ownerFor } from './domain/owner.ts';
import { errorEnvelope } from './error-envelope.ts';
import type { RestMeta } from './rest-meta.ts';
import { describeZodError } from './validation.ts';

/**
 * What a procedure declares about itself: its REST route (`openapi`, see `rest-meta.ts`), read by
 * the OpenAPI generator, and the scope below, read by the middlewares.
 */
export type ProcedureMeta = RestMeta & {
  /**
   * The scope a service key needs to call this procedure. A procedure without
   * one is closed to service keys (deny by default: a new procedure is not
   * open to them until it says so).
   */
  scope?: ServiceScope;
};

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Never put stack traces in responses, whatever NODE_ENV says.
    isDev: false,
    sse: {
      // Keeps proxies from closing a quiet job stream; clients reconnect if pings stop.
      ping: { enabled: true, intervalMs: 10_000 },
      client: { reconnectAfterInactivityMs: 25_000 },
    },
    errorFormatter({ shape, error, ctx }) {
      const zodError = error.cause instanceof ZodError ? error.cause : undefined;
      const appCode =
        error.cause instanceof AppError ? error.cause.code : zodError ? 'INVALID_INPUT' : appCodeForTrpcCode(error.code);
      const requestId = ctx?.requestId ?? null;
      let message = shape.message;
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        message = `Something went wrong on our side. Please try again${requestId ? ` (request ${requestId})` : ''}.`;
      } else if (zodError) {
        message = describeZodError(zodError);
      }
      return errorEnvelope({
        message,
        jsonRpcCode: shape.code,
        trpcCode: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path ?? null,
        appCode,
        requestId,
        fieldErrors: zodError ? fieldErrors(zodError) : null,
      });
    },
  });

function fieldErrors(error: ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const field = issue.path.join('.') || 'input';
    (out[field] ??= []).push(issue.message);
  }
  return out;
}

/**
 * Turns domain errors into tRPC errors with their one mapped code, and
 * storage/queue/database outages into a retryable SERVICE_UNAVAILABLE that says
 * nothing of AWS or Postgres. Anything else stays INTERNAL_SERVER_ERROR and is masked by the formatter.
 */
const mapErrors = t.middleware(async ({ next, ctx, path }) => {
  // One span per procedure call, active while it runs: the outbox rows it writes carry its
  // trace context, so the worker's span for the job joins the same trace.
  return productTracer().startActiveSpan(
    `rpc ${path}`,
    { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'trpc', 'rpc.method': path } },
    async (span) => {
      const started = performance.now();
      const result = mapResult(await next(), ctx);
      // Procedure names come from the router (an unknown path never reaches here), so the labels stay bounded.
      const outcome = result.ok ? 'ok' : outcomeCode(result.error);
      signals().requestDuration.record((performance.now() - started) / 1000, { procedure: path, outcome });
      if (!result.ok) span.setAttribute('coachplus.error_code', outcome);
      if (outcome === 'INTERNAL_SERVER_ERROR' || outcome === 'SERVICE_UNAVAILABLE')
        span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      return result;
    },
  );
});

/** The app error code a failed call answers with (the label of its latency). */
function outcomeCode(error: TRPCError): string {
  return error.cause instanceof AppError ? error.cause.code : appCodeForTrpcCode(error.code);
}

function mapResult<TResult extends { ok: true } | { ok: false; error: TRPCError }>(result: TResult, ctx: Context): TResult {
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof AppError) {
    return { ...result, error: new TRPCError({ code: APP_ERROR_CODES[cause.code], message: cause.message, cause }) };
  }
  /** A 503 whose message names no backend; the cause goes to the log only. */
  const outage = (logMessage: string, message: string, code: AppErrorCode = 'SERVICE_UNAVAILABLE') => {
    ctx.logger.error({ err: cause, requestId: ctx.requestId }, logMessage);
    const appError = new AppError(code, message, { cause });
    return { ...result, error: new TRPCError({ code: 'SERVICE_UNAVAILABLE', message, cause: appError }) };
  };
  if (cause instanceof AwsMisconfiguredError) {
    // The log line is the error's own message: it names the setting to fix.
    return cause.resource.kind === 'bucket'
      ? outage(
          cause.message,
          'Video storage is unavailable because of a problem on our side. Nothing was changed and nothing you uploaded is lost; please try again later.',
          'STORAGE_UNAVAILABLE',
        )
      : outage(
          cause.message,
          'Videos cannot be queued for analysis because of a problem on our side. Your upload is kept and will be analysed once this is fixed; please try again later.',
          'QUEUE_UNAVAILABLE',
        );
  }
  if (cause instanceof AwsUnavailableError) {
    return outage(
      'storage or queue unavailable',
      'Video storage is temporarily unavailable. Nothing was changed; please try again in a moment.',
    );
  }
  if (isDatabaseUnavailable(cause)) {
    // A dropped or refused connection is an outage like S3's, not a bug: the call may be
    // repeated (the pool replaces the connection). Its effect may or may not have been
    // committed, so the message promises nothing about that.
    return outage('database unavailable', 'The service is briefly unavailable. Please try again in a moment.');
  }
  return result;
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Anyone may call; used only for procedures that reveal nothing. */
export const publicProcedure = t.procedure.use(mapErrors);

const REFUSED_CREDENTIAL: Record<AuthFailure, string> = {
  TOKEN_EXPIRED: 'Your sign-in has expired. Sign in again.',
  TOKEN_INVALID: 'The access token is not valid. Sign in again.',
  SERVICE_KEY_INVALID:
    'The service key is not valid: send the whole cpk_… string shown when it was created, or ask your organisation for a new key.',
  SERVICE_KEY_EXPIRED: 'The service key has expired. Ask your organisation for a new key.',
  SERVICE_KEY_REVOKED: 'The service key was revoked. Ask your organisation for a new key.',
};

/**
 * The signed-in video user a procedure runs for, or the AppError that refuses
 * the call. A service key is refused any procedure whose scope it lacks. A
 * mutation is paid for from the caller's allowance (a service key's own) here,
 * before any of its work.
 */
function requireVideoUser(ctx: Context, type: ProcedureType, path: string, meta: ProcedureMeta | undefined) {
  const { auth } = ctx;
  if (auth.status === 'anonymous') {
    throw new AppError('UNAUTHENTICATED', 'Sign in required: send an "Authorization: Bearer <token>" header.');
  }
  // The credential could not be checked: the outage itself, answered as 503 by mapErrors.
  if (auth.status === 'unavailable') throw auth.error;
  if (auth.status === 'invalid') throw new AppError(auth.reason, REFUSED_CREDENTIAL[auth.reason]);
  const { identity } = auth;
  if (identity.service) {
    const needed = meta?.scope;
    if (needed === undefined) {
      throw new AppError('INSUFFICIENT_SCOPE', `A service key cannot call ${path}: it needs a signed-in org_pro user.`);
    }
    if (!identity.service.scopes.includes(needed)) {
      throw new AppError(
        'INSUFFICIENT_SCOPE',
        `This service key cannot call ${path}: that needs the scope ${needed}, and the key has ${identity.service.scopes.join(', ')}. Ask your organisation for a key with ${needed}.`,
      );
    }
  }
  if (!isVideoRole(identity.role)) {
    throw new AppError('ROLE_NOT_ALLOWED', 'Video sessions need a Coach Pro Plus or Org Pro account.');
  }
  const user = { ...identity, role: identity.role };
  const owner = ownerFor(identity, user.role);
  if (type === 'mutation') ctx.usage.charge(user.userId, 'mutations', 1);
  return { user, owner, actor: auditActorOf(identity) };
}

/**
 * A signed-in coach or org user. Narrows `ctx.user` and adds `ctx.owner`, the
 * (owner_type, owner_id) every query of the procedure must be scoped by, and
 * `ctx.actor`, who the audit trail names for the call.
 */
export const protectedProcedure = publicProcedure.use(({ ctx, type, path, meta, next }) =>
  next({ ctx: requireVideoUser(ctx, type, path, meta) }),
);

/**
 * A signed-in user whose plan includes video upload. One middleware rather
 * than another layer on `protectedProcedure`: tRPC copies the call's options
 * at every layer, and these procedures are the busiest.
 */
export const uploadProcedure = publicProcedure.use(({ ctx, type, path, meta, next }) => {
  const signedIn = requireVideoUser(ctx, type, path, meta);
  if (!hasFeature(signedIn.user, signedIn.user.role, VIDEO_UPLOAD_FEATURE)) {
    throw new AppError(
      'FEATURE_DISABLED',
      `Video upload is not enabled for your account (feature ${VIDEO_UPLOAD_FEATURE}). Contact your administrator to enable it.`,
    );
  }
  return next({ ctx: signedIn });
});

/**
 * A signed-in org staff user (`org_pro`) acting for their organisation: the
 * procedures that manage its service keys. Never a service key itself (these
 * procedures name no scope), and never a coach, who has no organisation.
 */
export const orgStaffProcedure = publicProcedure.use(({ ctx, type, path, meta, next }) => {
  const signedIn = requireVideoUser(ctx, type, path, meta);
  if (signedIn.owner.type !== 'org') {
    throw new AppError(
      'ROLE_NOT_ALLOWED',
      'Service keys belong to an organisation: only organisation staff (Org Pro) can manage them.',
    );
  }
  return next({ ctx: { ...signedIn, orgId: signedIn.owner.id } });
});
