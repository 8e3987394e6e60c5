import { readFileSync } from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { WorkerSettingsSchema, workerShutdownMs } from '@coach/worker';

import { loadConfig } from '../../apps/server/src/env.ts';
import { loadWorkerConfig } from '../../apps/worker/src/env.ts';
import { containerEnv, synthTemplates, type Variant } from './synth.ts';

const repo = path.resolve(import.meta.dirname, '../..');

/**
 * The variable names an app's env.ts accepts: its `EnvSchema` extends the
 * worker settings schema with the keys listed in its source (the schema is
 * not exported, and zod drops unknown keys silently, so a misspelt name would
 * otherwise pass unnoticed).
 */
function acceptedKeys(envFile: string): Set<string> {
  const source = readFileSync(path.join(repo, envFile), 'utf8');
  const block = /const EnvSchema = WorkerSettingsSchema\.extend\(\{\n([\s\S]*?)\n\}\);/.exec(source)?.[1];
  if (!block) throw new Error(`${envFile}: EnvSchema = WorkerSettingsSchema.extend({...}) not found; update this test`);
  const own = [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] ?? '');
  return new Set([...Object.keys(WorkerSettingsSchema.shape), ...own]);
}

/**
 * What the task receives at run time for values CloudFormation fills in
 * (resource names, URLs, region) and for secrets, shaped as the real ones are.
 */
const RUNTIME_VALUES: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  S3_COACH_VIDEOS_BUCKET: 'coach-videos-1a2b3c',
  SQS_VIDEO_ANALYSIS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/AnalysisQueue',
  SQS_VIDEO_ANALYSIS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/AnalysisDeadLetterQueue',
  SQS_UPLOAD_EVENTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/UploadEventsQueue',
  DATABASE_URL: 'postgresql://coach:generated-password@coach.abc.eu-west-1.rds.amazonaws.com:5432/coach?sslmode=no-verify',
  AUTH_JWT_SECRET: 'a'.repeat(64),
};

/** The environment a container sees: plain values as given, deploy-time values and secrets as placeholders. */
function runtimeEnv(env: { environment: Record<string, unknown>; secretNames: string[] }): Record<string, string> {
  const entries = [...Object.entries(env.environment), ...env.secretNames.map((name) => [name, undefined] as const)].map(
    ([name, value]) => {
      if (typeof value === 'string') return [name, value];
      const placeholder = RUNTIME_VALUES[name];
      if (placeholder === undefined) throw new Error(`${name} is set at deploy time; give it a placeholder in RUNTIME_VALUES`);
      return [name, placeholder];
    },
  );
  return Object.fromEntries(entries) as Record<string, string>;
}

let templates: ReturnType<typeof synthTemplates>;
beforeAll(() => {
  templates = synthTemplates();
});

describe.each<Variant>(['hs256', 'jwks'])('environment of the services (%s auth)', (variant) => {
  it('the API task gets exactly what apps/server/src/env.ts accepts, and it starts in production mode', () => {
    const env = containerEnv(templates[variant], 'api');
    const given = runtimeEnv(env);
    const known = acceptedKeys('apps/server/src/env.ts');
    expect(
      Object.keys(given).filter((k) => !known.has(k)),
      'variables env.ts does not know',
    ).toEqual([]);

    const config = loadConfig(given);
    expect(config.env).toBe('production');
    expect(config.workerInProcess).toBe(false);
    expect(config.aws).toMatchObject({ kind: 'external', region: 'eu-west-1', s3Endpoint: undefined, sqsEndpoint: undefined });
    expect(config.host).toBe('0.0.0.0');
    expect(config.auth.kind).toBe(variant);
    // Secrets come from Secrets Manager, never as plain values in the task definition.
    expect(Object.keys(env.environment)).not.toContain('DATABASE_URL');
    expect(Object.keys(env.environment)).not.toContain('AUTH_JWT_SECRET');
  });

  it('the worker task gets exactly what apps/worker/src/env.ts accepts, and it parses', () => {
    const env = containerEnv(templates[variant], 'worker');
    const given = runtimeEnv(env);
    const known = acceptedKeys('apps/worker/src/env.ts');
    expect(
      Object.keys(given).filter((k) => !known.has(k)),
      'variables env.ts does not know',
    ).toEqual([]);

    const config = loadWorkerConfig(given);
    expect(config.aws.s3Endpoint).toBeUndefined();
    expect(config.aws.sqsEndpoint).toBeUndefined();
    // The bucket's object-created notifications reach the worker, which completes landed uploads.
    expect(config.aws.uploadEventsQueueUrl).toBe(RUNTIME_VALUES.SQS_UPLOAD_EVENTS_QUEUE_URL);
    expect(env.secretNames).toEqual(['DATABASE_URL']);
    // Fargate kills a container at most 120 s after SIGTERM: the worker's drain must fit.
    expect(workerShutdownMs(config.settings.worker)).toBeLessThanOrEqual((env.stopTimeout ?? 30) * 1000);
  });
});

it("retention's defaults, when the deployment sets them, reach both services alike (the worker enforces, the API dates)", () => {
  const api = loadConfig(runtimeEnv(containerEnv(templates.jwks, 'api')));
  const worker = loadWorkerConfig(runtimeEnv(containerEnv(templates.jwks, 'worker')));
  expect(api.retentionDefaults).toEqual({ deleteOriginalsAfterDays: 30, deleteEverythingAfterDays: 365 });
  expect(worker.settings.worker.retentionDefaults).toEqual(api.retentionDefaults);
  // Unset, both keep for ever.
  expect(loadConfig(runtimeEnv(containerEnv(templates.hs256, 'api'))).retentionDefaults).toEqual({
    deleteOriginalsAfterDays: null,
    deleteEverythingAfterDays: null,
  });
});

it('every variable env.ts requires in production is set: removing any one is refused', () => {
  for (const [name, load] of [
    ['api', loadConfig],
    ['worker', loadWorkerConfig],
  ] as const) {
    const given = runtimeEnv(containerEnv(templates.hs256, name));
    const required = Object.keys(given).filter((key) => {
      const { [key]: _removed, ...rest } = given;
      try {
        load(rest);
        return false;
      } catch {
        return true;
      }
    });
    const expected =
      name === 'api'
        ? [
            'AUTH_JWT_SECRET',
            'AWS_REGION',
            'CORS_ORIGINS',
            'DATABASE_URL',
            'S3_COACH_VIDEOS_BUCKET',
            'SQS_VIDEO_ANALYSIS_QUEUE_URL',
          ]
        : ['AWS_REGION', 'DATABASE_URL', 'S3_COACH_VIDEOS_BUCKET', 'SQS_VIDEO_ANALYSIS_DLQ_URL', 'SQS_VIDEO_ANALYSIS_QUEUE_URL'];
    expect(required.sort(), name).toEqual(expected);
  }
});

it("the analysis queue's redrive count is the worker's WORKER_MAX_RECEIVES", () => {
  const worker = loadWorkerConfig(runtimeEnv(containerEnv(templates.hs256, 'worker')));
  const queues = Object.values(templates.hs256.findResources('AWS::SQS::Queue'));
  const redrives = queues.flatMap((q) => {
    const redrive = (q.Properties as { RedrivePolicy?: { maxReceiveCount: number } } | undefined)?.RedrivePolicy;
    return redrive ? [redrive.maxReceiveCount] : [];
  });
  expect(redrives).toEqual([worker.settings.worker.maxReceives]);
});
