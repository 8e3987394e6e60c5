/** Where the REST routes are served; the OpenAPI document's server URL. */
export const REST_BASE_PATH = '/api/v1';

/**
 * The part of trpc-to-openapi's `OpenApiMeta['openapi']` the routes use, spelled out here so the
 * router's type (which the published client's declarations carry) names no server-only package;
 * `openapi.ts` checks that it still fits the generator's type.
 */
// Type aliases, not interfaces: tRPC's meta must be assignable to a record type, which an interface is not.
export type RestRouteSpec = {
  method: 'GET' | 'POST';
  path: `/${string}`;
  summary: string;
  description?: string;
  tags: string[];
  protect: boolean;
  errorResponses: Record<number, string>;
};

/** A procedure's REST route, as its `meta` carries it. */
export type RestMeta = {
  openapi?: RestRouteSpec;
};

/** Every authenticated route may answer these (README "Errors" has the codes). */
const COMMON_ERRORS: Record<number, string> = {
  400: 'INVALID_INPUT (with fieldErrors)',
  401: 'UNAUTHENTICATED, TOKEN_INVALID, TOKEN_EXPIRED',
  403: 'ROLE_NOT_ALLOWED, ORG_CLAIM_MISSING (upload routes also FEATURE_DISABLED)',
  429: 'TOO_MANY_REQUESTS (with Retry-After)',
  500: 'INTERNAL: the message names the request id',
  503: 'SERVICE_UNAVAILABLE, STORAGE_UNAVAILABLE, QUEUE_UNAVAILABLE: retry later',
};

/**
 * A procedure's REST route: GET for queries (input in the path and query
 * string), POST for mutations (input in the path and a JSON body), so REST
 * keeps tRPC's methods and every limit that goes with them. `errors` adds the
 * statuses particular to the procedure, each with the app codes it carries.
 */
export function restRoute(
  method: 'GET' | 'POST',
  path: `/${string}`,
  spec: { summary: string; description?: string; tags: string[]; errors?: Record<number, string> },
): RestMeta {
  const route: RestRouteSpec = {
    method,
    path,
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags,
    protect: true,
    errorResponses: { ...COMMON_ERRORS, ...spec.errors },
  };
  return { openapi: route };
}

/**
 * Procedures without a REST route, each with the reason; the OpenAPI document
 * and the README say what to use instead.
 */
export const REST_EXCLUSIONS: Record<string, string> = {
  'jobs.watch':
    'A subscription: a stream of job states, which a request/response route cannot carry. ' +
    'Follow a job with Server-Sent Events at GET /trpc/jobs.watch?input={"jobId":"…"} ' +
    '(Accept: text/event-stream, the same Bearer token), or poll GET /api/v1/jobs/{jobId}.',
};
