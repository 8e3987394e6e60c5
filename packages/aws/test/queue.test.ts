import { randomBytes } from 'node:crypto';

import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import {
  AwsMisconfiguredError,
  AwsUnavailableError,
  createAwsClients,
  createSqsQueue,
  type AwsClients,
  type MessageQueue,
} from '../src/index.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let clients: AwsClients;
let unreachable: AwsClients;
let endpoint: string;

beforeAll(() => {
  endpoint = inject('awsEndpoint');
  clients = createAwsClients({ region: 'us-east-1', endpoint, credentials });
  unreachable = createAwsClients({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials,
    maxAttempts: 1,
    requestTimeoutMs: 1_000,
  });
});
afterAll(() => {
  clients?.destroy();
  unreachable?.destroy();
});

/** A fresh queue with a DLQ; fauxqs' sqs.<region>.localhost URLs are rewritten to the endpoint. */
async function createQueue(options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {}) {
  const name = `queue-test-${randomBytes(6).toString('hex')}`;
  const local = (url: string | undefined) => `${endpoint}${new URL(url ?? '').pathname}`;
  const dlqUrl = local((await clients.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl);
  const dlqArn = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn;
  const queueUrl = local(
    (
      await clients.sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: {
            VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 10 }),
          },
        }),
      )
    ).QueueUrl,
  );
  return {
    queueUrl,
    queue: createSqsQueue({ sqs: clients.sqs, queueUrl }),
    dlq: createSqsQueue({ sqs: clients.sqs, queueUrl: dlqUrl }),
  };
}

const receiveNow = (queue: MessageQueue, visibilityTimeoutSeconds?: number) =>
  queue.receive({ maxMessages: 10, waitTimeSeconds: 0, visibilityTimeoutSeconds });

describe('SQS queue adapter against the emulator', () => {
  it('sends and receives a message, then deletes it', async () => {
    const { queue } = await createQueue();
    const body = JSON.stringify({ schema_version: 1, job_id: 'j-1', note: 'ünïcode ✓' });
    const sent = await queue.send(body);
    expect(sent.messageId).toEqual(expect.any(String));

    const received = await receiveNow(queue);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ messageId: sent.messageId, body, receiveCount: 1 });
    expect(received[0]?.receiptHandle).toEqual(expect.any(String));

    // Invisible while held.
    expect(await receiveNow(queue)).toEqual([]);
    await queue.delete(received[0]!.receiptHandle);
    await queue.changeVisibility(received[0]!.receiptHandle, 0).catch(() => {});
    expect(await receiveNow(queue)).toEqual([]);
  });

  it('redelivers an undeleted message after its visibility timeout with a higher receiveCount', async () => {
    const { queue } = await createQueue({ visibilityTimeoutSeconds: 1 });
    const { messageId } = await queue.send('redeliver me');

    const first = await receiveNow(queue, 1);
    expect(first).toMatchObject([{ messageId, body: 'redeliver me', receiveCount: 1 }]);
    expect(await receiveNow(queue)).toEqual([]);

    await new Promise((r) => setTimeout(r, 1_300));
    const second = await receiveNow(queue, 1);
    expect(second).toMatchObject([{ messageId, receiveCount: 2 }]);
    expect(second[0]?.receiptHandle).toEqual(expect.any(String));
    await queue.delete(second[0]!.receiptHandle);
    expect(await receiveNow(queue)).toEqual([]);
  });

  it('changeVisibility(0) releases a message at once; a longer timeout holds it', async () => {
    const { queue } = await createQueue({ visibilityTimeoutSeconds: 1 });
    const { messageId } = await queue.send('visibility');

    const [held] = await receiveNow(queue, 30);
    expect(held?.messageId).toBe(messageId);
    expect(await receiveNow(queue)).toEqual([]);
    await queue.changeVisibility(held!.receiptHandle, 0);
    const [again] = await receiveNow(queue, 1);
    expect(again).toMatchObject({ messageId, receiveCount: 2 });

    // Extend past the 1 s default: still hidden after it would have come back.
    await queue.changeVisibility(again!.receiptHandle, 30);
    await new Promise((r) => setTimeout(r, 1_300));
    expect(await receiveNow(queue)).toEqual([]);
    await queue.delete(again!.receiptHandle);
  });

  it('moves a message to the DLQ after maxReceiveCount receives', async () => {
    const { queue, dlq } = await createQueue({ maxReceiveCount: 2 });
    const { messageId } = await queue.send('poison');
    for (const count of [1, 2]) {
      const [m] = await receiveNow(queue, 30);
      expect(m).toMatchObject({ messageId, receiveCount: count });
      await queue.changeVisibility(m!.receiptHandle, 0);
    }
    expect(await receiveNow(queue)).toEqual([]);
    const dead = await receiveNow(dlq);
    expect(dead.map((m) => m.body)).toEqual(['poison']);
  });

  it('ping resolves for an existing queue and fails for a missing one', async () => {
    const { queue } = await createQueue();
    await expect(queue.ping()).resolves.toBeUndefined();
    const missing = createSqsQueue({
      sqs: clients.sqs,
      queueUrl: `${endpoint}/000000000000/missing-${randomBytes(4).toString('hex')}`,
    });
    await expect(missing.ping()).rejects.toBeInstanceOf(AwsUnavailableError);
    await expect(missing.send('x')).rejects.toBeInstanceOf(AwsUnavailableError);
  });

  it('throws AwsUnavailableError with no AWS text when the endpoint is unreachable', async () => {
    const offline = createSqsQueue({ sqs: unreachable.sqs, queueUrl: 'http://127.0.0.1:1/000000000000/offline' });
    const checks: [string, Promise<unknown>][] = [
      ['send message failed', offline.send('x')],
      ['receive messages failed', offline.receive({ maxMessages: 1, waitTimeSeconds: 0 })],
      ['delete message failed', offline.delete('handle')],
      ['change message visibility failed', offline.changeVisibility('handle', 0)],
      ['get queue attributes failed', offline.ping()],
    ];
    for (const [message, promise] of checks) {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AwsUnavailableError);
      expect((error as Error).message).toBe(message);
      expect((error as Error).message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|amz|aws|sqs|queue url/i);
      expect((error as Error).cause).toBeDefined();
    }
  });

  it('stops a long poll promptly when its abort signal fires', async () => {
    const { queue } = await createQueue();
    const controller = new AbortController();
    const started = Date.now();
    const pending = queue.receive({ maxMessages: 1, waitTimeSeconds: 10, abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('a queue that does not exist', () => {
  it('is a misconfiguration naming the setting for every call', async () => {
    const queueUrl = `${endpoint}/000000000000/missing-${randomBytes(4).toString('hex')}`;
    const missing = createSqsQueue({ sqs: clients.sqs, queueUrl, setting: 'SQS_VIDEO_ANALYSIS_QUEUE_URL' });
    const calls = {
      send: () => missing.send('{}'),
      receive: () => missing.receive({ maxMessages: 1, waitTimeSeconds: 0 }),
      ping: () => missing.ping(),
    };
    for (const [name, call] of Object.entries(calls)) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(AwsMisconfiguredError);
      expect((error as Error).message, name).toBe(`SQS_VIDEO_ANALYSIS_QUEUE_URL: queue ${queueUrl} does not exist`);
    }
  });
});
