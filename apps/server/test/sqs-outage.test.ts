import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createOutboxDispatcher, silentLogger, startOutboxRelay } from '@coach/api';
import { createAwsClients, createSqsQueue, type AwsClients } from '@coach/aws';
import { findJob } from '@coach/db';

import { coachA, coachB } from '../../../test/helpers/identities.ts';
import { FaultyQueue, startTestServer, TEST_REGION, type TestServer } from '../../../test/helpers/server.ts';
import { putUrl } from '../../../test/helpers/upload.ts';
import { waitFor } from '../../../test/helpers/wait.ts';

/** An "SQS" that accepts connections and never answers: the worst kind of outage. */
let blackHole: Server;
const sockets = new Set<Socket>();
let hungClients: AwsClients;

beforeAll(async () => {
  blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  const { port } = blackHole.address() as AddressInfo;
  hungClients = createAwsClients({
    region: TEST_REGION,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  hungClients.destroy();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

async function uploaded(server: TestServer, count: number) {
  const client = server.clientFor(coachA);
  const { sessionId } = await client.sessions.create.mutate({ title: 'Outage', playerIds: [] });
  const jobs: string[] = [];
  for (let i = 0; i < count; i++) {
    const upload = await client.upload.initiate.mutate({ sessionId, sizeBytes: 4 });
    await fetch(putUrl(upload), { method: 'PUT', headers: upload.headers, body: new Uint8Array(4) });
    jobs.push(upload.jobId);
  }
  return jobs;
}

describe('SQS outages', () => {
  let server: TestServer;
  afterAll(() => server.close());

  it('a hanging queue neither hangs complete nor starves other requests; every upload goes out once it recovers', async () => {
    server = await startTestServer({
      // Every inline send goes to the black hole; the relay below uses the real queue.
      wrapQueue: () =>
        createSqsQueue({
          sqs: hungClients.sqs,
          queueUrl: `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}/000000000000/hung`,
        }),
      // No backoff, so every failed row is due again when the relay runs below.
      outbox: { inlineCooldownMs: 0, baseRetryMs: 0 },
    });
    const jobs = await uploaded(server, 12);
    const client = server.clientFor(coachA);

    const started = Date.now();
    const completing = Promise.all(jobs.map((jobId) => client.upload.complete.mutate({ jobId })));
    // Meanwhile another user is served promptly: no connection is held across the hung call.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const otherStarted = Date.now();
    await server.clientFor(coachB).sessions.list.query({});
    expect(Date.now() - otherStarted).toBeLessThan(2_000);

    const answers = await completing;
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const answer of answers) expect(answer).toMatchObject({ status: 'queued', sqsMessageId: null });

    // SQS is back: the relay (with a working queue) sends each exactly once.
    const relay = createOutboxDispatcher({
      db: server.db,
      queue: createSqsQueue({ sqs: server.sqs, queueUrl: server.queueUrl }),
      logger: silentLogger,
    });
    expect(await relay.relayDue(50)).toEqual({ sent: 12, failed: 0 });
    expect(await relay.relayDue(50)).toEqual({ sent: 0, failed: 0 });
    const bodies = (await server.drainQueue()).map((m) => JSON.parse(m.Body ?? '{}') as { job_id: string });
    expect(bodies.map((b) => b.job_id).sort()).toEqual([...jobs].sort());
    for (const jobId of jobs) expect((await findJob(server.db, { jobId }))?.sqsMessageId).toBeTruthy();
  }, 60_000);
});

describe('the outbox relay loop', () => {
  it('delivers, on its own, a message that could not be sent while SQS was down', async () => {
    let faulty: FaultyQueue | undefined;
    const server = await startTestServer({
      wrapQueue: (queue) => (faulty = new FaultyQueue(queue)),
      outbox: { inlineCooldownMs: 0, baseRetryMs: 50, maxRetryMs: 200 },
    });
    try {
      if (!faulty) throw new Error('queue not wrapped');
      faulty.fail.send = true;
      const [jobId] = await uploaded(server, 1);
      if (!jobId) throw new Error('no job');
      expect(await server.clientFor(coachA).upload.complete.mutate({ jobId })).toMatchObject({ sqsMessageId: null });

      const relay = startOutboxRelay({ dispatcher: server.outbox, logger: silentLogger, idleIntervalMs: 50 });
      try {
        await new Promise((resolve) => setTimeout(resolve, 300)); // a few failing passes
        expect(await server.drainQueue()).toHaveLength(0);
        faulty.fail.send = false;
        const job = await waitFor(
          async () => {
            const row = await findJob(server.db, { jobId });
            return row?.sqsMessageId ? row : undefined;
          },
          { what: 'the relay to send the message' },
        );
        const delivered = await server.drainQueue();
        expect(delivered.map((m) => m.MessageId)).toEqual([job.sqsMessageId]);
      } finally {
        await relay.stop();
      }
    } finally {
      await server.close();
    }
  });
});
