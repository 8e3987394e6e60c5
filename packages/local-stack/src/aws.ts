import type { AddressInfo } from 'node:net';

import cors from '@fastify/cors';
import { buildApp } from 'fauxqs';

export interface LocalAwsOptions {
  port?: number;
  /** Where to listen; 127.0.0.1 unless other devices must reach it (presigned URLs for a phone on the LAN). */
  host?: string;
  region?: string;
  /** Largest single PUT the emulator accepts. */
  maxBodyBytes?: number;
  /** Origins allowed to PUT from a browser; `true` reflects any origin (local use only). */
  corsOrigins?: string[] | true;
}

export interface LocalQueue {
  queueUrl: string;
  dlqUrl: string;
}

export interface LocalAws {
  /** Endpoint for AWS SDK clients (path-style S3, explicit SQS endpoint). */
  readonly endpoint: string;
  readonly port: number;
  /** The address the socket is really bound to, as the OS reports it. */
  readonly boundAddress: string;
  readonly region: string;
  createBucket(name: string): Promise<void>;
  /** Creates `name` and `name-dlq`, moving a message to the DLQ after `maxReceiveCount` receives. */
  createQueueWithDlq(
    name: string,
    options?: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number },
  ): Promise<LocalQueue>;
  stop(): Promise<void>;
}

const GIB = 1024 ** 3;
const ALL_INTERFACES = new Set(['0.0.0.0', '::']);

/**
 * An in-process S3 + SQS emulator on 127.0.0.1 (or `host`). fauxqs' own `startFauxqs`
 * binds every interface, has no CORS and caps bodies at ~11 MiB; building its
 * Fastify app directly lets us fix all three. State lives in memory.
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const region = options.region ?? 'us-east-1';
  const app = buildApp({ logger: false, defaultRegion: region });
  await app.register(cors, {
    origin: options.corsOrigins ?? true,
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
    exposedHeaders: ['ETag', 'x-amz-request-id'],
    maxAge: 600,
  });
  // Replace the emulator's binary parser with one that accepts large videos.
  app.removeContentTypeParser('*');
  app.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: options.maxBodyBytes ?? 2 * GIB },
    (_req: unknown, body: Buffer, done: (err: Error | null, body?: Buffer) => void) => {
      done(null, body);
    },
  );
  const host = options.host ?? '127.0.0.1';
  const address = await app.listen({ port: options.port ?? 0, host });
  const port = Number(new URL(address).port);
  // This process's own calls go over loopback when the emulator listens on every interface.
  const endpoint = `http://${ALL_INTERFACES.has(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;

  const sqs = async (action: string, body: Record<string, unknown>) => {
    const response = await app.inject({
      method: 'POST',
      url: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': `AmazonSQS.${action}`,
        authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/${region}/sqs/aws4_request`,
      },
      payload: JSON.stringify(body),
    });
    if (response.statusCode >= 300) throw new Error(`SQS ${action} failed: ${response.body}`);
    return response.json<Record<string, string | undefined>>();
  };
  // fauxqs builds queue URLs on a sqs.<region>.localhost host; rewrite them to our endpoint.
  const localUrl = (queueUrl: string | undefined, name: string) =>
    `${endpoint}${queueUrl ? new URL(queueUrl).pathname : `/000000000000/${name}`}`;

  return {
    endpoint,
    port,
    boundAddress: (app.server.address() as AddressInfo).address,
    region,
    async createBucket(name) {
      const response = await app.inject({ method: 'PUT', url: `/${name}` });
      if (response.statusCode >= 300 && response.statusCode !== 409) {
        throw new Error(`CreateBucket ${name} failed: ${response.body}`);
      }
    },
    async createQueueWithDlq(name, queueOptions = {}) {
      const dlq = await sqs('CreateQueue', { QueueName: `${name}-dlq` });
      const dlqArn = `arn:aws:sqs:${region}:000000000000:${name}-dlq`;
      const queue = await sqs('CreateQueue', {
        QueueName: name,
        Attributes: {
          VisibilityTimeout: String(queueOptions.visibilityTimeoutSeconds ?? 60),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn,
            maxReceiveCount: queueOptions.maxReceiveCount ?? 5,
          }),
        },
      });
      return { queueUrl: localUrl(queue.QueueUrl, name), dlqUrl: localUrl(dlq.QueueUrl, `${name}-dlq`) };
    },
    stop: () => app.close(),
  };
}
