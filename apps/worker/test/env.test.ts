import { describe, expect, it } from 'vitest';

import { DEFAULT_ANALYSIS_CAPS, DEFAULT_WORKER_CONFIG, minimumJobSeconds, workerShutdownMs } from '@coach/worker';

import { loadWorkerConfig } from '../src/env.ts';

const complete = {
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/coach',
  AWS_REGION: 'eu-west-1',
  S3_COACH_VIDEOS_BUCKET: 'coach-videos-prod',
  SQS_VIDEO_ANALYSIS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/video-analysis',
  SQS_VIDEO_ANALYSIS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/video-analysis-dlq',
};

describe('workerShutdownMs', () => {
  it('leaves room for both the last long poll and the in-flight budget, which run together', () => {
    const { settings } = loadWorkerConfig({ ...complete, WORKER_SHUTDOWN_BUDGET_SECONDS: '5', WORKER_WAIT_TIME_SECONDS: '20' });
    expect(settings.worker.waitTimeSeconds).toBe(20);
    expect(workerShutdownMs(settings.worker)).toBe(30_000);
    const budgeted = loadWorkerConfig({ ...complete, WORKER_SHUTDOWN_BUDGET_SECONDS: '60', WORKER_WAIT_TIME_SECONDS: '2' });
    expect(workerShutdownMs(budgeted.settings.worker)).toBe(70_000);
  });
});

describe('loadWorkerConfig', () => {
  it('reads a complete configuration with worker defaults', () => {
    const config = loadWorkerConfig({ ...complete, POSE_MODEL: 'thunder', WORKER_CONCURRENCY: '3' });
    expect(config.aws.deadLetterQueueUrl).toBe(complete.SQS_VIDEO_ANALYSIS_DLQ_URL);
    expect(config.settings.pose).toEqual({ model: 'thunder', threads: 2 });
    expect(config.settings.worker).toMatchObject({ concurrency: 3, leaseSeconds: 60, maxReceives: 5 });
    // The message must stay hidden at least as long as the lease.
    expect(loadWorkerConfig({ ...complete, WORKER_LEASE_SECONDS: '120' }).settings.worker.visibilityTimeoutSeconds).toBe(120);
  });

  it('serves metrics only when METRICS_PORT is set (on METRICS_HOST, loopback by default), and traces only to an http(s) OTLP_TRACES_URL', () => {
    expect(loadWorkerConfig(complete)).toMatchObject({ metrics: undefined, otlpTracesUrl: undefined });
    expect(loadWorkerConfig({ ...complete, METRICS_PORT: '9464' }).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadWorkerConfig({ ...complete, METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics?.host).toBe('0.0.0.0');
    expect(() => loadWorkerConfig({ ...complete, METRICS_PORT: 'metrics' })).toThrow(/METRICS_PORT/);
    expect(() => loadWorkerConfig({ ...complete, OTLP_TRACES_URL: 'collector:4318' })).toThrow(/OTLP_TRACES_URL/);
  });

  it('consumes S3 upload notifications only when SQS_UPLOAD_EVENTS_QUEUE_URL is given, and checks its URL and the upload limit', () => {
    expect(loadWorkerConfig(complete).aws.uploadEventsQueueUrl).toBeUndefined();
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/upload-events';
    expect(loadWorkerConfig({ ...complete, SQS_UPLOAD_EVENTS_QUEUE_URL: url }).aws.uploadEventsQueueUrl).toBe(url);
    expect(() => loadWorkerConfig({ ...complete, SQS_UPLOAD_EVENTS_QUEUE_URL: 'upload-events' })).toThrow(
      /SQS_UPLOAD_EVENTS_QUEUE_URL/,
    );
    // The same limit as the API's, so a landed upload is checked as upload.complete checks it.
    expect(loadWorkerConfig(complete).settings.worker.maxUploadBytes).toBe(8 * 1024 ** 3);
    expect(loadWorkerConfig({ ...complete, MAX_UPLOAD_BYTES: '1048576' }).settings.worker.maxUploadBytes).toBe(1024 ** 2);
    expect(() => loadWorkerConfig({ ...complete, MAX_UPLOAD_BYTES: '0' })).toThrow(/MAX_UPLOAD_BYTES/);
  });

  it('gives the sweeper the retention defaults (keep unless set) and refuses originals kept as long as everything', () => {
    expect(loadWorkerConfig(complete).settings.worker.retentionDefaults).toEqual({
      deleteOriginalsAfterDays: null,
      deleteEverythingAfterDays: null,
    });
    const retained = loadWorkerConfig({
      ...complete,
      RETENTION_DELETE_ORIGINALS_AFTER_DAYS: '7',
      RETENTION_DELETE_EVERYTHING_AFTER_DAYS: '30',
    });
    expect(retained.settings.worker.retentionDefaults).toEqual({ deleteOriginalsAfterDays: 7, deleteEverythingAfterDays: 30 });
    expect(() =>
      loadWorkerConfig({ ...complete, RETENTION_DELETE_ORIGINALS_AFTER_DAYS: '30', RETENTION_DELETE_EVERYTHING_AFTER_DAYS: '7' }),
    ).toThrow('RETENTION_DELETE_ORIGINALS_AFTER_DAYS: must be fewer days than RETENTION_DELETE_EVERYTHING_AFTER_DAYS');
  });

  it('lists every missing or malformed setting at once', () => {
    expect(() => loadWorkerConfig({ POSE_MODEL: 'huge', WORKER_CONCURRENCY: '0' })).toThrow(
      /DATABASE_URL[\s\S]*AWS_REGION[\s\S]*S3_COACH_VIDEOS_BUCKET[\s\S]*SQS_VIDEO_ANALYSIS_QUEUE_URL[\s\S]*SQS_VIDEO_ANALYSIS_DLQ_URL/,
    );
    const message = (() => {
      try {
        loadWorkerConfig({ ...complete, POSE_MODEL: 'huge', WORKER_CONCURRENCY: '0' });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('POSE_MODEL');
    expect(message).toContain('WORKER_CONCURRENCY');
  });
});

describe('analysis caps and the job deadline', () => {
  it('defaults to caps for phone video and a deadline that covers the largest job they allow', () => {
    const { settings } = loadWorkerConfig(complete);
    expect(settings.caps).toEqual({
      maxDurationSeconds: 1800,
      maxSourceFps: 240,
      maxSourceFrames: 54_000,
      maxAnalysedFrames: 18_000,
      media: { maxFramePixels: 4096 * 2160, maxMemoryBytes: 2048 * 1024 ** 2, niceness: 10 },
    });
    expect(settings.worker.maxJobSeconds).toBe(minimumJobSeconds(settings.caps));
    expect(DEFAULT_WORKER_CONFIG.maxJobSeconds).toBe(minimumJobSeconds(DEFAULT_ANALYSIS_CAPS));
  });

  it('derives the deadline from smaller caps, and refuses one too short for what the caps allow', () => {
    const small = {
      ...complete,
      WORKER_MAX_FRAMES_PER_JOB: '1000',
      WORKER_MAX_SOURCE_FRAMES: '3000',
      WORKER_MAX_FRAME_PIXELS: '2073600',
    };
    const { settings } = loadWorkerConfig(small);
    // 120 s + 1000 frames × 0.1 s + 3000 × 2.0736 MP × 0.006 s.
    expect(settings.worker.maxJobSeconds).toBe(258);
    expect(loadWorkerConfig({ ...small, WORKER_MAX_JOB_SECONDS: '600' }).settings.worker.maxJobSeconds).toBe(600);
    expect(() => loadWorkerConfig({ ...small, WORKER_MAX_JOB_SECONDS: '200' })).toThrow(
      /WORKER_MAX_JOB_SECONDS: 200 s is shorter than the 258 s/,
    );
  });
});
