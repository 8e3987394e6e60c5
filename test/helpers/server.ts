import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { inject } from 'vitest';

import {
  createJobEventHub,
  createOutboxDispatcher,
  createTokenVerifier,
  signDevToken,
  silentLogger,
  type ApiConfig,
  type Identity,
  type JobEventHub,
  type OutboxDispatcher,
  type ScheduleAt,
} from '@coach/api';
import {
  AwsUnavailableError,
  createAwsClients,
  createS3Storage,
  createSqsQueue,
  type AwsClients,
  type MessageQueue,
  type ObjectStorage,
  type ReceiveParams,
  type SendOptions,
} from '@coach/aws';
import { createClient, type ApiClient } from '@coach/client';
import { JOB_EVENTS_CHANNEL, listenForNotifications, type Database, type Kysely } from '@coach/db';

import { buildApp, LISTEN_BACKLOG, type AppOptions } from '../../apps/server/src/app.ts';
import { createTestDatabase } from './database.ts';

export const TEST_REGION = 'us-east-1';
export const ALLOWED_ORIGIN = 'http://allowed.test';

export const serverTestConfig: ApiConfig = {
  uploadUrlExpiresSeconds: 900,
  downloadUrlExpiresSeconds: 300,
  maxUploadBytes: 10 * 1024 * 1024,
  multipartThresholdBytes: 64 * 1024 * 1024,
  multipartPartSizeBytes: 8 * 1024 * 1024,
  partUrlExpiresSeconds: 600,
  uploadIdleWindowSeconds: 3600,
  uploadMaxLifetimeSeconds: 7 * 24 * 3600,
  // Limits are off unless a test is about them.
  initiatesPerMinute: 0,
  maxOpenUploads: 0,
  storageQuotaBytes: 0,
  mutationsPerMinute: 0,
  signedUrlsPerMinute: 0,
  maxWatchStreamsPerUser: 0,
};

export interface TestServerOptions {
  /** Wraps the real SQS adapter, to inject faults at the adapter boundary. */
  wrapQueue?: (queue: MessageQueue) => MessageQueue;
  /** Wraps the real S3 adapter, to inject faults at the adapter boundary. */
  wrapStorage?: (storage: ObjectStorage) => ObjectStorage;
  config?: Partial<ApiConfig>;
  /** Outbox tuning; defaults retry fast and never skip inline sends. */
  outbox?: {
    inlineCooldownMs?: number;
    baseRetryMs?: number;
    maxRetryMs?: number;
    /** How long a claim lasts; short, to see a dead sender's rows picked up again within a test. */
    claimSeconds?: number;
    /** How long the relay leaves untried new rows to their inline send; 0 (relay at once) unless given. */
    relayGraceMs?: number;
  };
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /** The app's database pool size; load tests use production's (createDb's default). */
  dbPoolSize?: number;
  /** The app's (and outbox's) logger, e.g. one writing to memory so a test can read the log; silent by default. */
  logger?: AppOptions['logger'];
  /** How long the app reuses a `/readyz` answer; 0 (check on every probe) unless given. */
  readinessCacheMs?: number;
  /** Wraps the database handle the app uses (not `TestServer.db`), to inject faults at the database boundary. */
  wrapDb?: (db: Kysely<Database>) => Kysely<Database>;
  /** The API's clock and timers (e.g. a test clock moved by hand); the wall clock by default. */
  clock?: { now: () => Date; scheduleAt: ScheduleAt };
  /** How often the job hub re-reads watched jobs without a notification (its default unless given). */
  jobPollMs?: number;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `${url}/trpc` */
  trpcUrl: string;
  app: Awaited<ReturnType<typeof buildApp>>;
  db: Kysely<Database>;
  /** A connection string for this server's own database. */
  dbUrl: string;
  /** The storage the app uses (wrapped, when a wrapper was given). */
  storage: ObjectStorage;
  /** The queue the app uses (wrapped, when a wrapper was given). */
  queue: MessageQueue;
  outbox: OutboxDispatcher;
  /** The process's job hub: open streams, job reads. */
  jobEvents: JobEventHub;
  aws: AwsClients;
  sqs: SQSClient;
  endpoint: string;
  queueUrl: string;
  dlqUrl: string;
  bucket: string;
  config: ApiConfig;
  tokenSecret: string;
  tokenFor(identity: Identity, options?: { expiresIn?: string | number }): Promise<string>;
  clientFor(identity: Identity): ApiClient;
  /** Receives (and deletes) every visible message on the main queue until it answers empty. */
  drainQueue(queueUrl?: string): Promise<Message[]>;
  close(): Promise<void>;
}

const uniqueName = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`;

/**
 * A real server on a loopback port: its own migrated Postgres database, its own
 * bucket and queue (with a DLQ) on the run's shared emulator, the real adapters,
 * outbox dispatcher and token verifier, and `buildApp` exactly as production wires it.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const endpoint = inject('awsEndpoint');
  const testDb = await createTestDatabase({ maxConnections: options.dbPoolSize });
  const aws = createAwsClients({
    region: TEST_REGION,
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  let app: TestServer['app'] | undefined;
  let closeListener = async () => {};
  try {
    const bucket = uniqueName('test-bucket');
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));

    // fauxqs answers with a sqs.<region>.localhost host; keep only its path on our endpoint.
    const local = (url: string | undefined) => {
      if (!url) throw new Error('CreateQueue returned no QueueUrl');
      return `${endpoint}${new URL(url).pathname}`;
    };
    const queueName = uniqueName('test-queue');
    const dlqUrl = local((await aws.sqs.send(new CreateQueueCommand({ QueueName: `${queueName}-dlq` }))).QueueUrl);
    const dlqAttributes = await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
    const dlqArn = dlqAttributes.Attributes?.QueueArn;
    if (!dlqArn) throw new Error('DLQ has no QueueArn');
    const queueUrl = local(
      (
        await aws.sqs.send(
          new CreateQueueCommand({
            QueueName: queueName,
            Attributes: {
              VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: dlqArn,
                maxReceiveCount: options.maxReceiveCount ?? 5,
              }),
            },
          }),
        )
      ).QueueUrl,
    );

    const realStorage = createS3Storage({ s3: aws.s3, signer: aws.s3Signer, bucket });
    const realQueue = createSqsQueue({ sqs: aws.sqs, queueUrl });
    const storage = options.wrapStorage ? options.wrapStorage(realStorage) : realStorage;
    const queue = options.wrapQueue ? options.wrapQueue(realQueue) : realQueue;
    const outbox = createOutboxDispatcher({
      db: testDb.db,
      queue,
      logger: options.logger ?? silentLogger,
      inlineCooldownMs: options.outbox?.inlineCooldownMs ?? 0,
      baseRetryMs: options.outbox?.baseRetryMs ?? 10,
      maxRetryMs: options.outbox?.maxRetryMs,
      claimSeconds: options.outbox?.claimSeconds,
      relayGraceMs: options.outbox?.relayGraceMs ?? 0,
    });
    const tokenSecret = randomBytes(32).toString('hex');
    const verifyToken = createTokenVerifier({ kind: 'hs256', secret: tokenSecret });
    const config = { ...serverTestConfig, ...options.config };

    // Real change notifications from this test database, as in production.
    const appDb = options.wrapDb ? options.wrapDb(testDb.db) : testDb.db;
    const jobEvents = createJobEventHub({ db: appDb, fallbackPollMs: options.jobPollMs });
    const listener = await listenForNotifications({
      connectionString: testDb.url,
      channel: JOB_EVENTS_CHANNEL,
      onNotification: (jobId) => jobEvents.publish(jobId),
      onConnected: () => jobEvents.publishAll(),
    });
    closeListener = async () => {
      jobEvents.close();
      await listener.close();
    };

    app = await buildApp(
      { corsOrigins: [ALLOWED_ORIGIN], logger: options.logger, readinessCacheMs: options.readinessCacheMs ?? 0 },
      { db: appDb, storage, queue, outbox, jobEvents, config, verifyToken, ...options.clock },
    );
    await app.listen({ host: '127.0.0.1', port: 0, backlog: LISTEN_BACKLOG });
    const { port } = app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const trpcUrl = `${url}/trpc`;

    const tokenFor: TestServer['tokenFor'] = (identity, tokenOptions) =>
      signDevToken(tokenSecret, {
        userId: identity.userId,
        role: identity.role,
        orgId: identity.orgId ?? undefined,
        features: identity.features ?? undefined,
        expiresIn: tokenOptions?.expiresIn,
      });

    const drainQueue = async (url = queueUrl): Promise<Message[]> => {
      const received: Message[] = [];
      for (;;) {
        const out = await aws.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            VisibilityTimeout: 30,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) return received;
        for (const m of messages) {
          received.push(m);
          await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
        }
      }
    };

    const started = app;
    return {
      url,
      trpcUrl,
      app: started,
      db: testDb.db,
      dbUrl: testDb.url,
      storage,
      queue,
      outbox,
      jobEvents,
      aws,
      sqs: aws.sqs,
      endpoint,
      queueUrl,
      dlqUrl,
      bucket,
      config,
      tokenSecret,
      tokenFor,
      clientFor: (identity) => createClient({ url: trpcUrl, token: () => tokenFor(identity) }),
      drainQueue,
      async close() {
        try {
          await started.close();
        } finally {
          await closeListener();
          aws.destroy();
          await testDb.drop();
        }
      },
    };
  } catch (error) {
    await app?.close().catch(() => {});
    await closeListener();
    aws.destroy();
    await testDb.drop().catch(() => {});
    throw error;
  }
}

/**
 * A MessageQueue that behaves like the real one until a flag is set, then fails
 * the named operation the way the SQS adapter does when SQS is unreachable.
 */
export class FaultyQueue implements MessageQueue {
  readonly fail = { send: false, receive: false, ping: false };
  sendAttempts = 0;
  pings = 0;

  constructor(
    private readonly inner: MessageQueue,
    failing: Partial<FaultyQueue['fail']> = {},
  ) {
    Object.assign(this.fail, failing);
  }

  send(body: string, options?: SendOptions) {
    this.sendAttempts += 1;
    if (this.fail.send) return Promise.reject(new AwsUnavailableError('send message'));
    return this.inner.send(body, options);
  }
  receive(params: ReceiveParams) {
    if (this.fail.receive) return Promise.reject(new AwsUnavailableError('receive messages'));
    return this.inner.receive(params);
  }
  delete(receiptHandle: string) {
    return this.inner.delete(receiptHandle);
  }
  changeVisibility(receiptHandle: string, timeoutSeconds: number) {
    return this.inner.changeVisibility(receiptHandle, timeoutSeconds);
  }
  ping() {
    this.pings += 1;
    if (this.fail.ping) return Promise.reject(new AwsUnavailableError('get queue attributes'));
    return this.inner.ping();
  }
}
