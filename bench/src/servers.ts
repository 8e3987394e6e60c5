import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { findFreePort } from '@coach/local-stack';

import { startChild, type Child } from './child.ts';

export interface EmulatorInfo {
  endpoint: string;
  bucket: string;
  queueUrl: string;
  dlqUrl: string;
}

export interface RunningServer {
  child: Child;
  /** The tRPC endpoint, e.g. `http://127.0.0.1:1234/trpc`. */
  api: string;
}

const benchDir = path.resolve(import.meta.dirname, '..');
const repoRoot = path.resolve(benchDir, '..');

/**
 * Applies the schema the way a deployment does before the API starts (the
 * server no longer migrates on start): `apps/server/src/cli/migrate.ts`, the
 * source of `pnpm db:migrate`, in a process of its own.
 */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'apps/server/src/cli/migrate.ts')], {
    cwd: path.join(repoRoot, 'apps/server'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
  });
}

/**
 * The real API server (`apps/server/src/main.ts`) in its own process with
 * NODE_ENV=production and no in-process worker. `settings` adds or overrides
 * environment variables (limits, multipart threshold); a setting left out
 * takes the product's default.
 */
export async function startApiServer(p: {
  label: string;
  databaseUrl: string;
  aws: EmulatorInfo;
  jwtSecret: string;
  settings: Record<string, string>;
  nodeArgs?: string[];
}): Promise<RunningServer> {
  const port = await findFreePort();
  const child = await startChild({
    label: p.label,
    nodeArgs: p.nodeArgs,
    script: path.join(repoRoot, 'apps/server/src/main.ts'),
    cwd: path.join(repoRoot, 'apps/server'),
    readyLine: /Coach Plus API listening on (http:\/\/\S+)/,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: p.databaseUrl,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: p.aws.endpoint,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      S3_COACH_VIDEOS_BUCKET: p.aws.bucket,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: p.aws.queueUrl,
      SQS_VIDEO_ANALYSIS_DLQ_URL: p.aws.dlqUrl,
      WORKER_IN_PROCESS: 'false',
      CORS_ORIGINS: 'http://bench.invalid',
      AUTH_JWT_SECRET: p.jwtSecret,
      ...p.settings,
    },
  });
  return { child, api: `http://127.0.0.1:${port}/trpc` };
}

/** The hand-written ceiling (see ceiling-server.ts); its routes are `/initiate/straightforward`, `/initiate/tuned-get-signed-url` and `/initiate/tuned`. */
export async function startCeilingServer(p: {
  databaseUrl: string;
  aws: EmulatorInfo;
  jwtSecret: string;
}): Promise<{ child: Child; base: string }> {
  const port = await findFreePort();
  const child = await startChild({
    label: 'ceiling server',
    script: path.join(benchDir, 'src/ceiling-server.ts'),
    cwd: benchDir,
    readyLine: /ceiling listening on (\S+)/,
    env: {
      BENCH_PORT: String(port),
      BENCH_DATABASE_URL: p.databaseUrl,
      BENCH_AWS_ENDPOINT: p.aws.endpoint,
      BENCH_BUCKET: p.aws.bucket,
      BENCH_JWT_SECRET: p.jwtSecret,
    },
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

export async function startEmulator(): Promise<{ child: Child; aws: EmulatorInfo }> {
  const child = await startChild({
    label: 'emulator',
    script: path.join(benchDir, 'src/aws-child.ts'),
    cwd: benchDir,
    env: {},
    readyLine: /^(\{"ready":true.*\})$/,
  });
  return { child, aws: JSON.parse(child.readyMatch[1] ?? '{}') as EmulatorInfo };
}
