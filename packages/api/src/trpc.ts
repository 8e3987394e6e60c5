import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { initTRPC, TRPCError, type ProcedureType } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';

import { AwsMisconfiguredError, AwsUnavailableError } from '@coach/aws';
import { isDatabaseUnavailable } from '@coach/db';
import { productTracer, signals } from '@coach/jobs';

import { hasFeature, isVideoRole, VIDEO_UPLOAD_FEATURE } from './auth/identity.ts';
import type { Context } from './context.ts';
import { APP_ERROR_CODES, appCodeForTrpcCode, AppError, type AppErrorCode } from './domain/errors.ts';
import { ownerFor } from './domain/owner.ts';
import { errorEnvelope } from './error-envelope.ts';
import { describeZodError } from './validation.ts';

// `meta` carries each procedure's REST route (`rest-meta.ts`), read by the OpenAPI generator.
const t = initTRPC
  .context<Context>()
  .meta<OpenApiMeta>()
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

/**
 * The signed-in video user a procedure runs for, or the AppError that refuses
 * the call. A mutation is paid for from the user's allowance here, before any
 * of its work.
 */
function requireVideoUser(ctx: Context, type: ProcedureType) {
  const { auth } = ctx;
  if (auth.status === 'anonymous') {
    throw new AppError('UNAUTHENTICATED', 'Sign in required: send an "Authorization: Bearer <token>" header.');
  }
  if (auth.status === 'invalid') {
    throw auth.reason === 'TOKEN_EXPIRED'
      ? new AppError('TOKEN_EXPIRED', 'Your sign-in has expired. Sign in again.')
      : new AppError('TOKEN_INVALID', 'The access token is not valid. Sign in again.');
  }
  const { identity } = auth;
  if (!isVideoRole(identity.role)) {
    throw new AppError('ROLE_NOT_ALLOWED', 'Video sessions need a Coach Pro Plus or Org Pro account.');
  }
  const user = { ...identity, role: identity.role };
  const owner = ownerFor(identity, user.role);
  if (type === 'mutation') ctx.usage.charge(user.userId, 'mutations', 1);
  return { user, owner };
}

/**
 * A signed-in coach or org user. Narrows `ctx.user` and adds `ctx.owner`, the
 * (owner_type, owner_id) every query of the procedure must be scoped by.
 */
export const protectedProcedure = publicProcedure.use(({ ctx, type, next }) => next({ ctx: requireVideoUser(ctx, type) }));

/**
 * A signed-in user whose plan includes video upload. One middleware rather
 * than another layer on `protectedProcedure`: tRPC copies the call's options
 * at every layer, and these procedures are the busiest.
 */
export const uploadProcedure = publicProcedure.use(({ ctx, type, next }) => {
  const signedIn = requireVideoUser(ctx, type);
  if (!hasFeature(signedIn.user, signedIn.user.role, VIDEO_UPLOAD_FEATURE)) {
    throw new AppError(
      'FEATURE_DISABLED',
      `Video upload is not enabled for your account (feature ${VIDEO_UPLOAD_FEATURE}). Contact your administrator to enable it.`,
    );
  }
  return next({ ctx: signedIn });
});
