/**
 * The environment each service's container receives, in one place. Values
 * may be CDK tokens (resolved at deploy time). `test/env.test.ts` feeds what
 * the synthesized task definitions carry to the apps' own config parsers
 * (`apps/server/src/env.ts`, `apps/worker/src/env.ts`).
 */

/** Secrets injected from Secrets Manager by ECS, never written into the task definition. */
export type SecretRef = 'databaseUrl' | 'jwtSecret';

export interface ServiceEnv {
  environment: Record<string, string>;
  secrets: Record<string, SecretRef>;
}

export type AuthParams =
  /** HS256 with a secret generated in Secrets Manager. */
  { kind: 'hs256' } | { kind: 'jwks'; jwksUrl: string; issuer: string; audience: string };

export interface ServiceEnvInputs {
  region: string;
  bucketName: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  /** S3's object-created notifications for the upload prefix, consumed by the worker. */
  uploadEventsQueueUrl: string;
  corsOrigins: readonly string[];
  auth: AuthParams;
  /** Days before retention removes originals / whole videos of owners without a policy; undefined keeps. */
  retention?: { deleteOriginalsAfterDays: number | undefined; deleteEverythingAfterDays: number | undefined };
}

/** The same retention defaults for both services: the worker enforces them, the API dates each video's removal. */
function retentionEnv(inputs: ServiceEnvInputs): Record<string, string> {
  const { deleteOriginalsAfterDays, deleteEverythingAfterDays } = inputs.retention ?? {};
  return {
    ...(deleteOriginalsAfterDays === undefined
      ? {}
      : { RETENTION_DELETE_ORIGINALS_AFTER_DAYS: String(deleteOriginalsAfterDays) }),
    ...(deleteEverythingAfterDays === undefined
      ? {}
      : { RETENTION_DELETE_EVERYTHING_AFTER_DAYS: String(deleteEverythingAfterDays) }),
  };
}

export const API_PORT = 8000;

/**
 * The API's Prometheus `/metrics` port. It binds HOST (0.0.0.0) like the API, but the task's
 * security group admits only the load balancer on API_PORT, so only the task's own containers
 * (which share localhost on Fargate) reach it: the CloudWatch agent sidecar scrapes it there.
 */
export const API_METRICS_PORT = 9464;

/** Where the worker writes its heartbeat; the container health check (`node dist/healthcheck.js`) reads it. */
export const WORKER_HEARTBEAT_FILE = '/tmp/worker-heartbeat';

/**
 * Worker tuning for a 2 vCPU / 4 GiB task. The queue's redrive count and the
 * container's stop timeout are derived from these, so they cannot drift apart.
 */
export const WORKER_TUNING = {
  /** Jobs at once per task: one per vCPU (ffmpeg and MoveNet each keep a core busy). */
  concurrency: 2,
  /** Also the analysis queue's redrive maxReceiveCount. */
  maxReceives: 5,
  visibilityTimeoutSeconds: 90,
  /**
   * Fargate stops a container at most 120 s after SIGTERM; the worker needs
   * max(budget, long poll) + 10 s (`workerShutdownMs`), so 100 s fits.
   */
  shutdownBudgetSeconds: 100,
} as const;

/** Fargate's ceiling for a container's stop timeout. */
export const WORKER_STOP_TIMEOUT_SECONDS = 120;

export function apiEnv(inputs: ServiceEnvInputs): ServiceEnv {
  const auth: ServiceEnv =
    inputs.auth.kind === 'jwks'
      ? {
          environment: {
            AUTH_JWKS_URL: inputs.auth.jwksUrl,
            AUTH_ISSUER: inputs.auth.issuer,
            AUTH_AUDIENCE: inputs.auth.audience,
          },
          secrets: {},
        }
      : { environment: {}, secrets: { AUTH_JWT_SECRET: 'jwtSecret' } };
  return {
    environment: {
      NODE_ENV: 'production',
      // Inside the task the load balancer reaches the container on its ENI, not on loopback.
      HOST: '0.0.0.0',
      PORT: String(API_PORT),
      METRICS_PORT: String(API_METRICS_PORT),
      LOG_LEVEL: 'info',
      AWS_REGION: inputs.region,
      S3_COACH_VIDEOS_BUCKET: inputs.bucketName,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: inputs.queueUrl,
      // The workers run as their own service.
      WORKER_IN_PROCESS: 'false',
      CORS_ORIGINS: inputs.corsOrigins.join(','),
      ...retentionEnv(inputs),
      ...auth.environment,
    },
    secrets: { DATABASE_URL: 'databaseUrl', ...auth.secrets },
  };
}

export function workerEnv(inputs: ServiceEnvInputs): ServiceEnv {
  return {
    environment: {
      LOG_LEVEL: 'info',
      AWS_REGION: inputs.region,
      S3_COACH_VIDEOS_BUCKET: inputs.bucketName,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: inputs.queueUrl,
      SQS_VIDEO_ANALYSIS_DLQ_URL: inputs.deadLetterQueueUrl,
      SQS_UPLOAD_EVENTS_QUEUE_URL: inputs.uploadEventsQueueUrl,
      WORKER_CONCURRENCY: String(WORKER_TUNING.concurrency),
      WORKER_MAX_RECEIVES: String(WORKER_TUNING.maxReceives),
      WORKER_VISIBILITY_TIMEOUT_SECONDS: String(WORKER_TUNING.visibilityTimeoutSeconds),
      WORKER_SHUTDOWN_BUDGET_SECONDS: String(WORKER_TUNING.shutdownBudgetSeconds),
      WORKER_HEARTBEAT_FILE,
      ...retentionEnv(inputs),
    },
    secrets: { DATABASE_URL: 'databaseUrl' },
  };
}

/** The one-off migration (`node dist/migrate.js` in the API image) needs only the database. */
export function migrateEnv(): ServiceEnv {
  return { environment: { LOG_LEVEL: 'info' }, secrets: { DATABASE_URL: 'databaseUrl' } };
}
