import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createSqsQueue, type MessageQueue } from '@coach/aws';
import type { ReplayReport } from '@coach/worker';

import { startTestServer, type TestServer } from '../../../test/helpers/server.ts';
import { waitFor } from '../../../test/helpers/wait.ts';
import { workerProcessEnv } from './helpers/worker-env.ts';

const run = promisify(execFile);
const MAX_RECEIVES = 2;

let server: TestServer;
let deadLetterQueue: MessageQueue;

beforeAll(async () => {
  server = await startTestServer({ maxReceiveCount: MAX_RECEIVES });
  deadLetterQueue = createSqsQueue({ sqs: server.sqs, queueUrl: server.dlqUrl });
}, 60_000);
afterAll(() => server.close());

/** `pnpm dlq:replay` as an operator runs it, in the worker's environment; its JSON report. */
async function replay(...args: string[]): Promise<ReplayReport> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/dlq-replay.ts', ...args], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: {
      ...workerProcessEnv(server),
    },
  });
  return JSON.parse(stdout) as ReplayReport;
}

/** Receives the queue's messages without deleting them until SQS's redrive has moved `count` to the DLQ. */
async function deadLetter(count: number): Promise<void> {
  await waitFor(
    async () => {
      // Visible again at once, so every receive counts towards maxReceiveCount.
      await server.queue.receive({ maxMessages: 10, waitTimeSeconds: 0, visibilityTimeoutSeconds: 0 });
      const dead = await deadLetterQueue.receive({ maxMessages: 10, waitTimeSeconds: 0, visibilityTimeoutSeconds: 0 });
      return dead.length >= count ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 20, what: `${count} messages in the dead-letter queue` },
  );
}

const sorted = (ids: (string | null)[]) => ids.map(String).sort((a, b) => a.localeCompare(b));
const bodyOf = (jobId: string) => JSON.stringify({ type: 'video.analysis.requested', version: 1, job_id: jobId });
const jobIdsIn = (messages: { Body?: string }[]) =>
  messages.map((m) => (JSON.parse(m.Body ?? '{}') as { job_id: string }).job_id).sort();

describe('pnpm dlq:replay', () => {
  it('moves dead-lettered messages back to the main queue and reports them; --dry-run and --max move less', async () => {
    const jobIds = [randomUUID(), randomUUID(), randomUUID()].sort();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    for (const jobId of jobIds) await server.queue.send(bodyOf(jobId), { traceparent });
    await deadLetter(jobIds.length);

    const dry = await replay('--dry-run');
    expect({ ...dry, jobIds: sorted(dry.jobIds) }).toEqual({ dryRun: true, moved: 3, jobIds });

    const first = await replay('--max', '1');
    expect(first).toMatchObject({ dryRun: false, moved: 1 });
    const rest = await replay();
    expect(rest).toMatchObject({ dryRun: false, moved: 2 });
    expect(sorted([...first.jobIds, ...rest.jobIds])).toEqual(jobIds);

    expect(await server.drainQueue(server.dlqUrl)).toEqual([]);
    const back = await server.queue.receive({ maxMessages: 10, waitTimeSeconds: 1 });
    expect(back.map((m) => (JSON.parse(m.body) as { job_id: string }).job_id).sort()).toEqual(jobIds);
    // Fresh messages: counted from one again, and still carrying the trace of the request that sent them.
    expect(back.map((m) => ({ receiveCount: m.receiveCount, traceparent: m.traceparent }))).toEqual(
      jobIds.map(() => ({ receiveCount: 1, traceparent })),
    );
    for (const m of back) await server.queue.delete(m.receiptHandle);
    expect(jobIdsIn(await server.drainQueue())).toEqual([]);
  }, 60_000);

  it('an empty dead-letter queue moves nothing', async () => {
    expect(await replay()).toEqual({ dryRun: false, moved: 0, jobIds: [] });
  }, 30_000);
});
