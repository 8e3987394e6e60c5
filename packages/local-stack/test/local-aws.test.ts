import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startLocalAws, type LocalAws } from '../src/index.ts';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws({ corsOrigins: ['http://localhost:5173'] });
  await aws.createBucket('local-stack-test');
});
afterAll(() => aws.stop());

describe('startLocalAws', () => {
  it('binds loopback only', () => {
    expect(aws.boundAddress).toBe('127.0.0.1');
  });

  it("answers a browser's CORS preflight for a PUT from an allowed origin, and not from others", async () => {
    const preflight = (origin: string) =>
      fetch(`${aws.endpoint}/local-stack-test/some/key.mp4`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type',
        },
      });
    const allowed = await preflight('http://localhost:5173');
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('ETag');
    const foreign = await preflight('http://evil.test');
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("accepts a single PUT well over the emulator's own ~11 MiB body limit", async () => {
    const body = new Uint8Array(24 * 1024 * 1024).fill(7);
    const put = await fetch(`${aws.endpoint}/local-stack-test/big.mp4`, {
      method: 'PUT',
      headers: { 'content-type': 'video/mp4' },
      body,
    });
    expect(put.status).toBe(200);
    const head = await fetch(`${aws.endpoint}/local-stack-test/big.mp4`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(body.byteLength));
  });

  it('creates a queue whose messages move to its dead-letter queue after maxReceiveCount receives', async () => {
    const { queueUrl, dlqUrl } = await aws.createQueueWithDlq('local-stack-q', {
      maxReceiveCount: 1,
      visibilityTimeoutSeconds: 1,
    });
    expect(new URL(queueUrl).origin).toBe(aws.endpoint);
    const sqs = new SQSClient({
      region: aws.region,
      endpoint: aws.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));
      const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      expect(first.Messages?.map((m) => m.Body)).toEqual(['poison']);
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // let the visibility timeout lapse
      const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      expect(again.Messages ?? []).toHaveLength(0);
      const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }));
      expect(dead.Messages?.map((m) => m.Body)).toEqual(['poison']);
    } finally {
      sqs.destroy();
    }
  });
});
