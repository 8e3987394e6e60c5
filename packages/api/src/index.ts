import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

import type { AppRouter } from './root.ts';

export { appRouter, createCaller, type AppRouter } from './root.ts';
export { createContext, toApiConfig, type ApiConfig, type ApiDeps, type Context } from './context.ts';
export {
  createTokenVerifier,
  MAX_HS256_TOKEN_LIFETIME_SECONDS,
  type TokenVerifier,
  type TokenVerifierConfig,
} from './auth/verify-token.ts';
export { signDevToken, type DevTokenClaims } from './auth/sign-token.ts';
export type { AuthState, Identity } from './auth/identity.ts';
export { APP_ERROR_CODES, AppError, type AppErrorCode } from './domain/errors.ts';
export { errorEnvelope, type ErrorEnvelope } from './error-envelope.ts';
export { VIDEO_CONTENT_TYPES, type VideoContentType } from '@coach/jobs';
export { planParts } from './domain/multipart.ts';
// The server wires the outbox and logs through these; they live with the job domain.
export {
  createOutboxDispatcher,
  observeBacklog,
  startOutboxRelay,
  silentLogger,
  type Logger,
  type OutboxDispatcher,
  type OutboxRelay,
} from '@coach/jobs';
export {
  createJobEventHub,
  type JobEventHub,
  type JobEventHubOptions,
  type JobEvents,
  type JobListener,
} from './events/job-events.ts';
export type { ScheduleAt } from './clock.ts';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export { createUsageMeter, type UsageKind, type UsageLimits, type UsageMeter } from './domain/usage-meter.ts';
export { createOpenApiDocument, restRoutes, type OpenAPIObject, type RestRoute } from './openapi.ts';
export { REST_BASE_PATH, REST_EXCLUSIONS } from './rest-meta.ts';
