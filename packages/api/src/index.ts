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
export {
  SERVICE_SCOPES,
  type AuthFailure,
  type AuthState,
  type Identity,
  type ServicePrincipal,
  type ServiceScope,
} from './auth/identity.ts';
export {
  authenticateRequest,
  createServiceKeyVerifier,
  SERVICE_KEY_CACHE_MS,
  SERVICE_KEY_STREAM_RECHECK_MS,
  SERVICE_KEY_TOUCH_SECONDS,
  type ServiceKeyVerifier,
  type ServiceKeyVerifierOptions,
} from './auth/service-keys.ts';
export { MAX_LIVE_SERVICE_KEYS } from './domain/service-keys.ts';
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

// What procedures answer, by name: the published client's declarations refer to these.
export type { SessionView } from './domain/sessions.ts';
export type { JobArtifacts, JobDetails, JobView } from './domain/jobs.ts';
export type { SignedPart, UploadProgress } from './domain/multipart.ts';
export type { InitiatedUpload } from './domain/upload/deps.ts';
export type { CompletedUpload } from './domain/upload/complete.ts';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export { createUsageMeter, type UsageKind, type UsageLimits, type UsageMeter } from './domain/usage-meter.ts';
// The first version's API (its paths and snake_case), served by apps/server beside /trpc.
export { createFirstVersionCaller, type FirstVersionCaller } from './first-version/router.ts';
export { firstVersionErrorAnswer, type FirstVersionErrorAnswer } from './first-version/error-answer.ts';
export { createOpenApiDocument, restRoutes, type OpenAPIObject, type RestRoute } from './openapi.ts';
export { REST_BASE_PATH, REST_EXCLUSIONS } from './rest-meta.ts';
