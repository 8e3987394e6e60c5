import { z } from 'zod';

import type { RetentionPolicy } from '@coach/db';
import {
  toRetentionDefaults,
  toWorkerSettings,
  workerSettingsProblems,
  WorkerSettingsSchema,
  type WorkerSettings,
} from '@coach/worker';

/** Raised at start-up with every bad or missing setting listed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const GIB = 1024 ** 3;

const optionalString = z.string().trim().optional();
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const httpUrl = z.url({ protocol: /^https?$/ });

/** A browser origin: scheme, host and optional port, nothing else (browsers never send a path). */
const OriginListSchema = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .refine(
    (origins) => origins.every((o) => /^https?:\/\/[^/\s]+$/.test(o)),
    'must be comma-separated origins like https://app.example.com (no path, no trailing slash)',
  );

/** S3 refuses a single PUT over 5 GiB and an object over 5 TiB. */
const SINGLE_PUT_LIMIT = 5 * GIB;
const OBJECT_LIMIT = 5 * 1024 * GIB;
const MIB = 1024 ** 2;

const EnvSchema = WorkerSettingsSchema.extend({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(0, 65535).default(8000),
  /** Prometheus `/metrics` on its own port, on HOST; unset, no metrics endpoint. */
  METRICS_PORT: int(0, 65535).optional(),
  /** Spans go over OTLP/HTTP to this URL (a collector's /v1/traces); unset, nothing is traced. */
  OTLP_TRACES_URL: httpUrl.optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  AWS_REGION: optionalString,
  AWS_ENDPOINT_URL: httpUrl.optional(),
  AWS_ENDPOINT_URL_S3: httpUrl.optional(),
  AWS_ENDPOINT_URL_SQS: httpUrl.optional(),
  S3_PUBLIC_ENDPOINT_URL: httpUrl.optional(),
  S3_COACH_VIDEOS_BUCKET: optionalString,
  SQS_VIDEO_ANALYSIS_QUEUE_URL: httpUrl.optional(),
  SQS_VIDEO_ANALYSIS_DLQ_URL: httpUrl.optional(),
  WORKER_IN_PROCESS: z.enum(['true', 'false']).optional(),
  S3_UPLOAD_URL_EXPIRES_SECONDS: int(60, 7 * 24 * 3600).default(3600),
  // At most an hour: S3 cannot revoke a link, so a deleted video's link works until it expires.
  S3_DOWNLOAD_URL_EXPIRES_SECONDS: int(30, 3600).default(300),
  MAX_UPLOAD_BYTES: int(1, OBJECT_LIMIT).default(8 * GIB),
  MULTIPART_THRESHOLD_BYTES: int(5 * MIB, SINGLE_PUT_LIMIT).default(64 * MIB),
  MULTIPART_PART_SIZE_BYTES: int(5 * MIB, SINGLE_PUT_LIMIT).default(16 * MIB),
  S3_PART_URL_EXPIRES_SECONDS: int(60, 7 * 24 * 3600).default(900),
  UPLOAD_IDLE_WINDOW_SECONDS: int(60, 7 * 24 * 3600).default(3600),
  UPLOAD_MAX_LIFETIME_SECONDS: int(60, 30 * 24 * 3600).default(7 * 24 * 3600),
  RATE_LIMIT_INITIATES_PER_MINUTE: int(0, 100_000).default(30),
  MAX_OPEN_UPLOADS: int(0, 100_000).default(20),
  STORAGE_QUOTA_BYTES: int(0, Number.MAX_SAFE_INTEGER).default(50 * GIB),
  RATE_LIMIT_MUTATIONS_PER_MINUTE: int(0, 1_000_000).default(300),
  RATE_LIMIT_SIGNED_URLS_PER_MINUTE: int(0, 1_000_000).default(2000),
  MAX_WATCH_STREAMS_PER_USER: int(0, 100_000).default(20),
  /** The first version's initiate without `size_bytes`: accepted (its clients send none) or refused once they all send it. */
  FIRST_VERSION_UNSIZED_UPLOADS: z.enum(['true', 'false']).default('true'),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  AUTH_JWKS_URL: httpUrl.optional(),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  CORS_ORIGINS: OriginListSchema.optional(),
  EMBEDDED_DATA_DIR: optionalString,
  WEB_PORT: int(1, 65535).default(5173),
});

export type AuthConfig =
  | { kind: 'hs256'; secret: string; issuer?: string; audience?: string }
  | { kind: 'hs256-dev' }
  | { kind: 'jwks'; jwksUrl: string; issuer: string; audience: string };

export type AwsConfig =
  | {
      kind: 'embedded';
      region: string;
      bucket: string;
      queueName: string;
      /** Set: the emulator listens on HOST at this URL's port, and presigned URLs name this host. */
      s3PublicEndpoint?: string;
    }
  | {
      kind: 'external';
      region: string;
      /** Undefined: AWS itself. */
      s3Endpoint?: string;
      sqsEndpoint?: string;
      /** Where clients reach S3 when it is not `s3Endpoint`: presigned URLs are signed for it. */
      s3PublicEndpoint?: string;
      bucket: string;
      queueUrl: string;
      /** Needed only where this process runs the worker (it dead-letters poison messages). */
      deadLetterQueueUrl?: string;
    };

export interface ServerConfig {
  env: 'development' | 'test' | 'production';
  host: string;
  port: number;
  /** Serves Prometheus `/metrics` on `host` at this port; undefined, no endpoint. */
  metricsPort: number | undefined;
  /** Where spans go over OTLP/HTTP; undefined, nothing is traced. */
  otlpTracesUrl: string | undefined;
  logLevel: string;
  /** Undefined: start an embedded Postgres (outside production only). */
  databaseUrl: string | undefined;
  aws: AwsConfig;
  auth: AuthConfig;
  corsOrigins: string[];
  embeddedDataDir: string | undefined;
  /** Where `pnpm dev` serves the web app (on the local defaults only); the dev CORS origins follow it. */
  webPort: number;
  uploadUrlExpiresSeconds: number;
  downloadUrlExpiresSeconds: number;
  maxUploadBytes: number;
  multipartThresholdBytes: number;
  multipartPartSizeBytes: number;
  partUrlExpiresSeconds: number;
  uploadIdleWindowSeconds: number;
  uploadMaxLifetimeSeconds: number;
  initiatesPerMinute: number;
  maxOpenUploads: number;
  storageQuotaBytes: number;
  mutationsPerMinute: number;
  signedUrlsPerMinute: number;
  maxWatchStreamsPerUser: number;
  /** Whether the first version's initiate may omit `size_bytes` (its PUT then bounded only by S3's single-PUT maximum until complete). */
  firstVersionUnsizedUploads: boolean;
  /** Retention for owners without a policy of their own (`RETENTION_*`): the API shows it, the sweeper enforces it. */
  retentionDefaults: RetentionPolicy;
  /** Run the analysis worker inside this process (the default outside production). */
  workerInProcess: boolean;
  worker: WorkerSettings;
}

/** Long-poll wait against the embedded emulator, unless WORKER_WAIT_TIME_SECONDS says otherwise. */
const EMBEDDED_WAIT_TIME_SECONDS = 2;

/** Ports of local web apps: the one `pnpm dev` serves, and 3000, where a Next.js app's dev server listens. */
const NEXT_DEV_PORT = 3000;

/**
 * The browser origins allowed when CORS_ORIGINS is unset: each local web app
 * by both names a browser may show it under, `localhost` and `127.0.0.1`
 * (different origins to a browser, so both are listed).
 */
export function devCorsOrigins(webPort: number): string[] {
  return [...new Set([webPort, NEXT_DEV_PORT])].flatMap((port) => [`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * The embedded emulator serves presigned URLs at S3_PUBLIC_ENDPOINT_URL: it
 * listens on HOST at that URL's port, so the URL needs a port, and a device
 * elsewhere reaches it only when HOST is not a loopback address.
 */
function embeddedPublicEndpointProblems(publicEndpoint: string, host: string): string[] {
  const url = new URL(publicEndpoint);
  const problems: string[] = [];
  if (!url.port) {
    problems.push(
      '  - S3_PUBLIC_ENDPOINT_URL: with the embedded emulator, give the port it should listen on, e.g. http://192.168.1.20:4566',
    );
  }
  if (LOOPBACK.has(host) && !LOOPBACK.has(url.hostname)) {
    problems.push(
      `  - S3_PUBLIC_ENDPOINT_URL: ${url.hostname} cannot reach the embedded emulator while HOST is ${host}; set HOST=0.0.0.0 (or this machine's address)`,
    );
  }
  return problems;
}

/**
 * Parses the environment once at start-up into a frozen config. Outside
 * production, unset database and AWS settings mean the embedded stack; in
 * production every one of them is required.
 */
export function loadConfig(source: Record<string, string | undefined>): Readonly<ServerConfig> {
  // An empty value means "not set", as in most deployment tools.
  const given = Object.fromEntries(
    Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== ''),
  );
  const parsed = EnvSchema.safeParse(given);
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);

  // Rules between settings are checked on what was given, so one message lists everything.
  const isProduction = given.NODE_ENV === 'production';
  const has = (key: string) => key in given;
  const need = (key: string, why: string) => {
    if (!has(key)) problems.push(`  - ${key}: required ${why}`);
  };
  const awsKeys = [
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL_SQS',
    'S3_COACH_VIDEOS_BUCKET',
    'SQS_VIDEO_ANALYSIS_QUEUE_URL',
  ];
  const embeddedAws = !isProduction && !awsKeys.some(has);
  if (isProduction) {
    need('DATABASE_URL', 'in production');
    need('AWS_REGION', 'in production');
    need('CORS_ORIGINS', 'in production');
    if (!has('AUTH_JWKS_URL') && !has('AUTH_JWT_SECRET')) {
      problems.push('  - AUTH_JWKS_URL or AUTH_JWT_SECRET: required in production');
    }
  }
  if (!embeddedAws) {
    need('S3_COACH_VIDEOS_BUCKET', 'when S3/SQS settings are given');
    need('SQS_VIDEO_ANALYSIS_QUEUE_URL', 'when S3/SQS settings are given');
  }
  if (has('AUTH_JWKS_URL')) {
    need('AUTH_ISSUER', 'with AUTH_JWKS_URL');
    need('AUTH_AUDIENCE', 'with AUTH_JWKS_URL');
    if (has('AUTH_JWT_SECRET')) problems.push('  - AUTH_JWT_SECRET: set either AUTH_JWKS_URL or AUTH_JWT_SECRET, not both');
  }
  const workerInProcess = has('WORKER_IN_PROCESS') ? given.WORKER_IN_PROCESS === 'true' : !isProduction;
  if (workerInProcess && !embeddedAws) need('SQS_VIDEO_ANALYSIS_DLQ_URL', 'when the worker runs in this process');
  if (parsed.success) problems.push(...workerSettingsProblems(parsed.data));
  if (parsed.success && embeddedAws && parsed.data.S3_PUBLIC_ENDPOINT_URL) {
    problems.push(...embeddedPublicEndpointProblems(parsed.data.S3_PUBLIC_ENDPOINT_URL, parsed.data.HOST));
  }
  if (parsed.success && parsed.data.UPLOAD_MAX_LIFETIME_SECONDS < parsed.data.UPLOAD_IDLE_WINDOW_SECONDS) {
    problems.push('  - UPLOAD_MAX_LIFETIME_SECONDS: must be at least UPLOAD_IDLE_WINDOW_SECONDS');
  }
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  const env = parsed.data;

  const auth: AuthConfig = env.AUTH_JWKS_URL
    ? { kind: 'jwks', jwksUrl: env.AUTH_JWKS_URL, issuer: env.AUTH_ISSUER ?? '', audience: env.AUTH_AUDIENCE ?? '' }
    : env.AUTH_JWT_SECRET
      ? { kind: 'hs256', secret: env.AUTH_JWT_SECRET, issuer: env.AUTH_ISSUER, audience: env.AUTH_AUDIENCE }
      : { kind: 'hs256-dev' };
  const region = env.AWS_REGION ?? 'us-east-1';
  const aws: AwsConfig = embeddedAws
    ? {
        kind: 'embedded',
        region,
        bucket: 'coach-videos',
        queueName: 'video-analysis',
        s3PublicEndpoint: env.S3_PUBLIC_ENDPOINT_URL,
      }
    : {
        kind: 'external',
        region,
        // The SDK's own per-service settings win over the shared one, as in the SDK itself.
        s3Endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
        sqsEndpoint: env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL,
        s3PublicEndpoint: env.S3_PUBLIC_ENDPOINT_URL,
        bucket: env.S3_COACH_VIDEOS_BUCKET ?? '',
        queueUrl: env.SQS_VIDEO_ANALYSIS_QUEUE_URL ?? '',
        deadLetterQueueUrl: env.SQS_VIDEO_ANALYSIS_DLQ_URL,
      };

  return Object.freeze({
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    metricsPort: env.METRICS_PORT,
    otlpTracesUrl: env.OTLP_TRACES_URL,
    logLevel: env.LOG_LEVEL,
    databaseUrl: env.DATABASE_URL,
    aws,
    auth,
    corsOrigins: env.CORS_ORIGINS ?? devCorsOrigins(env.WEB_PORT),
    embeddedDataDir: env.EMBEDDED_DATA_DIR,
    webPort: env.WEB_PORT,
    uploadUrlExpiresSeconds: env.S3_UPLOAD_URL_EXPIRES_SECONDS,
    downloadUrlExpiresSeconds: env.S3_DOWNLOAD_URL_EXPIRES_SECONDS,
    maxUploadBytes: env.MAX_UPLOAD_BYTES,
    multipartThresholdBytes: env.MULTIPART_THRESHOLD_BYTES,
    multipartPartSizeBytes: env.MULTIPART_PART_SIZE_BYTES,
    partUrlExpiresSeconds: env.S3_PART_URL_EXPIRES_SECONDS,
    uploadIdleWindowSeconds: env.UPLOAD_IDLE_WINDOW_SECONDS,
    uploadMaxLifetimeSeconds: env.UPLOAD_MAX_LIFETIME_SECONDS,
    initiatesPerMinute: env.RATE_LIMIT_INITIATES_PER_MINUTE,
    maxOpenUploads: env.MAX_OPEN_UPLOADS,
    storageQuotaBytes: env.STORAGE_QUOTA_BYTES,
    mutationsPerMinute: env.RATE_LIMIT_MUTATIONS_PER_MINUTE,
    signedUrlsPerMinute: env.RATE_LIMIT_SIGNED_URLS_PER_MINUTE,
    maxWatchStreamsPerUser: env.MAX_WATCH_STREAMS_PER_USER,
    firstVersionUnsizedUploads: env.FIRST_VERSION_UNSIZED_UPLOADS === 'true',
    retentionDefaults: toRetentionDefaults(env),
    workerInProcess,
    worker: toWorkerSettings({
      ...env,
      // The embedded emulator's polls cost nothing, and stopping waits for the last one:
      // a short poll there makes Ctrl-C quick. Against SQS the usual 20 s saves requests.
      WORKER_WAIT_TIME_SECONDS:
        embeddedAws && !has('WORKER_WAIT_TIME_SECONDS') ? EMBEDDED_WAIT_TIME_SECONDS : env.WORKER_WAIT_TIME_SECONDS,
    }),
  });
}

const MigrateEnvSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  LOG_LEVEL: EnvSchema.shape.LOG_LEVEL,
});

/** `pnpm db:migrate` needs only the database (and how much to log). */
export function loadMigrateConfig(source: Record<string, string | undefined>): { databaseUrl: string; logLevel: string } {
  const parsed = MigrateEnvSchema.safeParse(Object.fromEntries(Object.entries(source).filter(([, v]) => v?.trim())));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return { databaseUrl: parsed.data.DATABASE_URL, logLevel: parsed.data.LOG_LEVEL };
}
