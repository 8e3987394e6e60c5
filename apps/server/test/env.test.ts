import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '../src/env.ts';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/coach',
  AWS_REGION: 'eu-west-1',
  S3_COACH_VIDEOS_BUCKET: 'coach-videos-prod',
  SQS_VIDEO_ANALYSIS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/video-analysis',
  AUTH_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
  AUTH_ISSUER: 'https://id.example.com/',
  AUTH_AUDIENCE: 'coach-plus-api',
  CORS_ORIGINS: 'https://app.example.com, https://admin.example.com',
};

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('uses embedded defaults outside production when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      host: '127.0.0.1',
      port: 8000,
      databaseUrl: undefined,
      aws: { kind: 'embedded', region: 'us-east-1' },
      auth: { kind: 'hs256-dev' },
      uploadUrlExpiresSeconds: 3600,
      maxWatchStreamsPerUser: 20,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the upload deadline settings (idle window, maximum lifetime) and refuses a lifetime shorter than the window', () => {
    expect(loadConfig({})).toMatchObject({ uploadIdleWindowSeconds: 3600, uploadMaxLifetimeSeconds: 7 * 24 * 3600 });
    expect(loadConfig({ UPLOAD_IDLE_WINDOW_SECONDS: '7200', UPLOAD_MAX_LIFETIME_SECONDS: '86400' })).toMatchObject({
      uploadIdleWindowSeconds: 7200,
      uploadMaxLifetimeSeconds: 86400,
    });
    expect(configError({ UPLOAD_IDLE_WINDOW_SECONDS: '7200', UPLOAD_MAX_LIFETIME_SECONDS: '3600' })).toContain(
      'UPLOAD_MAX_LIFETIME_SECONDS: must be at least UPLOAD_IDLE_WINDOW_SECONDS',
    );
    expect(configError({ UPLOAD_IDLE_WINDOW_SECONDS: '10' })).toContain('UPLOAD_IDLE_WINDOW_SECONDS');
  });

  it('polls the embedded emulator briefly, so stopping is quick, and SQS for the full 20 s', () => {
    expect(loadConfig({}).worker.worker.waitTimeSeconds).toBe(2);
    expect(loadConfig({ WORKER_WAIT_TIME_SECONDS: '7' }).worker.worker.waitTimeSeconds).toBe(7);
    expect(loadConfig(production).worker.worker.waitTimeSeconds).toBe(20);
  });

  it('keeps every video unless retention defaults are set, gives the API and the in-process sweeper the same ones, and refuses bad ones', () => {
    const keep = { deleteOriginalsAfterDays: null, deleteEverythingAfterDays: null };
    expect(loadConfig({}).retentionDefaults).toEqual(keep);
    expect(loadConfig({}).worker.worker.retentionDefaults).toEqual(keep);
    const config = loadConfig({ RETENTION_DELETE_ORIGINALS_AFTER_DAYS: '30', RETENTION_DELETE_EVERYTHING_AFTER_DAYS: '365' });
    const policy = { deleteOriginalsAfterDays: 30, deleteEverythingAfterDays: 365 };
    expect(config.retentionDefaults).toEqual(policy);
    expect(config.worker.worker.retentionDefaults).toEqual(policy);
    expect(loadConfig({ RETENTION_DELETE_EVERYTHING_AFTER_DAYS: '90' }).retentionDefaults).toEqual({
      deleteOriginalsAfterDays: null,
      deleteEverythingAfterDays: 90,
    });
    expect(configError({ RETENTION_DELETE_ORIGINALS_AFTER_DAYS: '0' })).toContain('RETENTION_DELETE_ORIGINALS_AFTER_DAYS');
    expect(configError({ RETENTION_DELETE_EVERYTHING_AFTER_DAYS: '3651' })).toContain('RETENTION_DELETE_EVERYTHING_AFTER_DAYS');
    expect(configError({ RETENTION_DELETE_ORIGINALS_AFTER_DAYS: '1.5' })).toContain('RETENTION_DELETE_ORIGINALS_AFTER_DAYS');
    expect(configError({ RETENTION_DELETE_ORIGINALS_AFTER_DAYS: '30', RETENTION_DELETE_EVERYTHING_AFTER_DAYS: '30' })).toContain(
      'RETENTION_DELETE_ORIGINALS_AFTER_DAYS: must be fewer days than RETENTION_DELETE_EVERYTHING_AFTER_DAYS',
    );
  });

  it('gives the in-process worker the upload limit of the API, so it checks a landed upload as upload.complete does', () => {
    const config = loadConfig({ MAX_UPLOAD_BYTES: String(3 * 1024 ** 2) });
    expect(config.maxUploadBytes).toBe(3 * 1024 ** 2);
    expect(config.worker.worker.maxUploadBytes).toBe(3 * 1024 ** 2);
  });

  it('reads a complete production configuration, keeping the seed names', () => {
    const config = loadConfig(production);
    expect(config.aws).toEqual({
      kind: 'external',
      region: 'eu-west-1',
      endpoint: undefined,
      bucket: 'coach-videos-prod',
      queueUrl: production.SQS_VIDEO_ANALYSIS_QUEUE_URL,
    });
    expect(config.auth).toEqual({
      kind: 'jwks',
      jwksUrl: production.AUTH_JWKS_URL,
      issuer: production.AUTH_ISSUER,
      audience: production.AUTH_AUDIENCE,
    });
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'https://admin.example.com']);
  });

  it('lists every missing production setting in one message', () => {
    const message = configError({ NODE_ENV: 'production' });
    for (const key of [
      'DATABASE_URL',
      'AWS_REGION',
      'S3_COACH_VIDEOS_BUCKET',
      'SQS_VIDEO_ANALYSIS_QUEUE_URL',
      'AUTH_JWKS_URL or AUTH_JWT_SECRET',
      'CORS_ORIGINS',
    ]) {
      expect(message).toContain(key);
    }
  });

  it('lists every malformed value in one message', () => {
    const message = configError({
      PORT: 'eighty',
      S3_UPLOAD_URL_EXPIRES_SECONDS: '999999999',
      DATABASE_URL: 'mysql://nope',
      AUTH_JWT_SECRET: 'short',
    });
    for (const key of ['PORT', 'S3_UPLOAD_URL_EXPIRES_SECONDS', 'DATABASE_URL', 'AUTH_JWT_SECRET']) {
      expect(message).toContain(key);
    }
  });

  it('serves metrics only when METRICS_PORT is set, and traces only to an http(s) OTLP_TRACES_URL', () => {
    expect(loadConfig({})).toMatchObject({ metricsPort: undefined, otlpTracesUrl: undefined });
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(configError({ METRICS_PORT: '70000' })).toContain('METRICS_PORT');
    const url = 'http://collector.internal:4318/v1/traces';
    expect(loadConfig({ OTLP_TRACES_URL: url }).otlpTracesUrl).toBe(url);
    expect(configError({ OTLP_TRACES_URL: 'collector:4318' })).toContain('OTLP_TRACES_URL');
  });

  it('reads the live stream cap per user: a whole number, 0 turning it off', () => {
    expect(loadConfig({ MAX_WATCH_STREAMS_PER_USER: '5' }).maxWatchStreamsPerUser).toBe(5);
    expect(loadConfig({ MAX_WATCH_STREAMS_PER_USER: '0' }).maxWatchStreamsPerUser).toBe(0);
    expect(configError({ MAX_WATCH_STREAMS_PER_USER: '-1' })).toContain('MAX_WATCH_STREAMS_PER_USER');
    expect(configError({ MAX_WATCH_STREAMS_PER_USER: 'many' })).toContain('MAX_WATCH_STREAMS_PER_USER');
  });

  it("accepts the first version's unsized uploads unless FIRST_VERSION_UNSIZED_UPLOADS=false", () => {
    expect(loadConfig({}).firstVersionUnsizedUploads).toBe(true);
    expect(loadConfig({ FIRST_VERSION_UNSIZED_UPLOADS: 'false' }).firstVersionUnsizedUploads).toBe(false);
    expect(configError({ FIRST_VERSION_UNSIZED_UPLOADS: 'no' })).toContain('FIRST_VERSION_UNSIZED_UPLOADS');
  });

  it('keeps download links short: at most an hour, since a deleted video stays reachable through one until it expires', () => {
    expect(loadConfig({ S3_DOWNLOAD_URL_EXPIRES_SECONDS: '3600' }).downloadUrlExpiresSeconds).toBe(3600);
    expect(configError({ S3_DOWNLOAD_URL_EXPIRES_SECONDS: '3601' })).toContain('S3_DOWNLOAD_URL_EXPIRES_SECONDS');
  });

  it('refuses a partial S3/SQS configuration instead of silently mixing in the emulator', () => {
    const message = configError({ S3_COACH_VIDEOS_BUCKET: 'mine' });
    expect(message).toContain('SQS_VIDEO_ANALYSIS_QUEUE_URL');
  });

  it('takes S3 and SQS endpoints apart (the SDK per-service settings over the shared one) and a public S3 endpoint', () => {
    const shared = loadConfig({ ...production, AWS_ENDPOINT_URL: 'http://storage.internal:9000' });
    expect(shared.aws).toMatchObject({ s3Endpoint: 'http://storage.internal:9000', sqsEndpoint: 'http://storage.internal:9000' });
    const apart = loadConfig({
      ...production,
      AWS_ENDPOINT_URL: 'http://storage.internal:9000',
      AWS_ENDPOINT_URL_SQS: 'http://queues.internal:9324',
      S3_PUBLIC_ENDPOINT_URL: 'https://files.example.com',
    });
    expect(apart.aws).toMatchObject({
      s3Endpoint: 'http://storage.internal:9000',
      sqsEndpoint: 'http://queues.internal:9324',
      s3PublicEndpoint: 'https://files.example.com',
    });
    expect(loadConfig({ ...production, AWS_ENDPOINT_URL_S3: 'http://minio:9000' }).aws).toMatchObject({
      s3Endpoint: 'http://minio:9000',
      sqsEndpoint: undefined,
    });
  });

  it('serves the embedded emulator at a public endpoint only where a phone can reach it', () => {
    const lan = loadConfig({ HOST: '0.0.0.0', S3_PUBLIC_ENDPOINT_URL: 'http://192.168.1.20:4566' });
    expect(lan.aws).toMatchObject({ kind: 'embedded', s3PublicEndpoint: 'http://192.168.1.20:4566' });
    const message = configError({ S3_PUBLIC_ENDPOINT_URL: 'http://192.168.1.20' });
    expect(message).toContain('S3_PUBLIC_ENDPOINT_URL: with the embedded emulator, give the port it should listen on');
    expect(message).toContain('S3_PUBLIC_ENDPOINT_URL: 192.168.1.20 cannot reach the embedded emulator while HOST is 127.0.0.1');
  });

  it('requires issuer and audience with a JWKS URL', () => {
    const message = configError({ AUTH_JWKS_URL: 'https://id.example.com/jwks' });
    expect(message).toContain('AUTH_ISSUER');
    expect(message).toContain('AUTH_AUDIENCE');
  });
});

describe('loadConfig, in one pass', () => {
  it('reports malformed values and missing production settings together', () => {
    const message = configError({ NODE_ENV: 'production', PORT: 'abc' });
    for (const key of ['PORT', 'DATABASE_URL', 'AWS_REGION', 'CORS_ORIGINS', 'S3_COACH_VIDEOS_BUCKET']) {
      expect(message).toContain(key);
    }
  });

  it('treats an empty value as unset rather than as zero', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(8000);
  });

  it.each([
    ['CORS_ORIGINS', 'not a url'],
    ['CORS_ORIGINS', 'https://app.example.com/'],
    ['SQS_VIDEO_ANALYSIS_QUEUE_URL', 'ftp://queue.example.com/q'],
    ['MAX_UPLOAD_BYTES', String(6 * 1024 ** 4)],
    ['MULTIPART_THRESHOLD_BYTES', String(6 * 1024 ** 3)],
  ])('refuses %s=%j', (key, value) => {
    expect(configError({ ...production, [key]: value })).toContain(key);
  });

  it('refuses both a JWKS URL and a shared secret', () => {
    expect(configError({ ...production, AUTH_JWT_SECRET: 'x'.repeat(40) })).toContain('not both');
  });
});
