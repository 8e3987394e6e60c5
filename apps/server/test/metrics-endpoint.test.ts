import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { signDevToken } from '@coach/api';

import { startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';

const SECRET = 'metrics-endpoint-test-secret-0123456789';

let resources: TestServer;
let child: ChildProcess | undefined;

// The test server only lends its database and emulator resources; the API under test is the real entry point.
beforeAll(async () => {
  resources = await startTestServer();
}, 60_000);
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await resources.close();
});

/** `apps/server/src/main.ts` as its own process with METRICS_PORT=0; its API and metrics URLs from its log. */
async function startServerProcess(): Promise<{ api: string; metrics: string }> {
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_URL: resources.dbUrl,
      AWS_REGION: TEST_REGION,
      AWS_ENDPOINT_URL: resources.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      S3_COACH_VIDEOS_BUCKET: resources.bucket,
      SQS_VIDEO_ANALYSIS_QUEUE_URL: resources.queueUrl,
      SQS_VIDEO_ANALYSIS_DLQ_URL: resources.dlqUrl,
      WORKER_IN_PROCESS: 'false',
      AUTH_JWT_SECRET: SECRET,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let metrics: string | undefined;
  for await (const line of createInterface({ input: child.stdout ?? process.stdin })) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { metricsUrl?: string; msg?: string };
    metrics ??= entry.metricsUrl;
    const api = /^API ready at (\S+)\/trpc/.exec(entry.msg ?? '')?.[1];
    if (api && metrics) return { api, metrics };
  }
  throw new Error('the server exited before it was ready');
}

it("the server's own process serves /metrics on METRICS_PORT: procedure latency and the outbox backlog", async () => {
  const { api, metrics } = await startServerProcess();
  expect(new URL(metrics).port).not.toBe(new URL(api).port);
  const token = await signDevToken(SECRET, { userId: 'coach-a', role: 'coach_pro_plus' });
  const created = await fetch(`${api}/trpc/sessions.create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Metrics', playerIds: [] }),
  });
  expect(created.status).toBe(200);

  const scrape = await fetch(metrics);
  expect(scrape.status).toBe(200);
  const text = await scrape.text();
  expect(text).toContain('coachplus_rpc_duration_seconds_count{procedure="sessions.create",outcome="ok"} 1');
  expect(text).toMatch(/^coachplus_outbox_backlog 0$/m);
  expect(text).toMatch(/^coachplus_outbox_oldest_unsent_age_seconds 0$/m);
  // The API port does not serve it.
  expect((await fetch(`${api}/metrics`)).status).toBe(404);
}, 60_000);
