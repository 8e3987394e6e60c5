import { z } from 'zod';

import { toWorkerSettings, workerSettingsProblems, WorkerSettingsSchema, type WorkerSettings } from '@coach/worker';

export interface WorkerAppConfig {
  logLevel: string;
  /** Serves Prometheus `/metrics` here; undefined, no endpoint. */
  metrics: { host: string; port: number } | undefined;
  /** Where spans go over OTLP/HTTP; undefined, nothing is traced. */
  otlpTracesUrl: string | undefined;
  databaseUrl: string;
  aws: {
    region: string;
    /** Undefined: AWS itself. */
    s3Endpoint?: string;
    sqsEndpoint?: string;
    bucket: string;
    queueUrl: string;
    deadLetterQueueUrl: string;
    uploadEventsQueueUrl?: string;
  };
  settings: WorkerSettings;
  /** Where the worker proves it is alive for a container health check; undefined: nowhere. */
  heartbeatFile: string | undefined;
}

const required = z.string().trim().min(1, 'required');

const EnvSchema = WorkerSettingsSchema.extend({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: required.pipe(z.url({ protocol: /^postgres(ql)?$/ })),
  AWS_REGION: required,
  AWS_ENDPOINT_URL: z.url().optional(),
  AWS_ENDPOINT_URL_S3: z.url().optional(),
  AWS_ENDPOINT_URL_SQS: z.url().optional(),
  S3_COACH_VIDEOS_BUCKET: required,
  SQS_VIDEO_ANALYSIS_QUEUE_URL: required.pipe(z.url()),
  SQS_VIDEO_ANALYSIS_DLQ_URL: required.pipe(z.url()),
  /** S3 object-created notifications for the upload prefix; unset, uploads the client never completes wait for the sweeper. */
  SQS_UPLOAD_EVENTS_QUEUE_URL: z.url().optional(),
  WORKER_HEARTBEAT_FILE: z.string().trim().min(1).optional(),
  /** Prometheus `/metrics` on this port; unset, no metrics endpoint. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The address the metrics endpoint listens on (0.0.0.0 in a container, for the scraper). */
  METRICS_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** Spans go over OTLP/HTTP to this URL (a collector's /v1/traces); unset, nothing is traced. */
  OTLP_TRACES_URL: z.url({ protocol: /^https?$/ }).optional(),
});

/**
 * The standalone worker always talks to real services (no embedded stack):
 * every connection setting is required, and all problems are listed at once.
 */
export function loadWorkerConfig(source: Record<string, string | undefined>): Readonly<WorkerAppConfig> {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(source).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid worker configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const problems = workerSettingsProblems(env);
  if (problems.length > 0) throw new Error(`Invalid worker configuration:\n${problems.join('\n')}`);
  return Object.freeze({
    logLevel: env.LOG_LEVEL,
    metrics: env.METRICS_PORT === undefined ? undefined : { host: env.METRICS_HOST, port: env.METRICS_PORT },
    otlpTracesUrl: env.OTLP_TRACES_URL,
    databaseUrl: env.DATABASE_URL,
    aws: {
      region: env.AWS_REGION,
      // The SDK's own per-service settings win over the shared one, as in the SDK itself.
      s3Endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
      sqsEndpoint: env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL,
      bucket: env.S3_COACH_VIDEOS_BUCKET,
      queueUrl: env.SQS_VIDEO_ANALYSIS_QUEUE_URL,
      deadLetterQueueUrl: env.SQS_VIDEO_ANALYSIS_DLQ_URL,
      uploadEventsQueueUrl: env.SQS_UPLOAD_EVENTS_QUEUE_URL,
    },
    settings: toWorkerSettings(env),
    heartbeatFile: env.WORKER_HEARTBEAT_FILE,
  });
}

/** The health check reads only where the heartbeat is (the worker's image sets it). */
export function loadHeartbeatFile(source: Record<string, string | undefined>): string | undefined {
  return source.WORKER_HEARTBEAT_FILE?.trim() || undefined;
}
