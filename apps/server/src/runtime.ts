import {
  createJobEventHub,
  createOutboxDispatcher,
  createTokenVerifier,
  observeBacklog,
  startOutboxRelay,
  type JobEvents,
  type Logger,
  type OutboxDispatcher,
  type OutboxRelay,
  type TokenVerifier,
} from '@coach/api';
import {
  createAwsClients,
  createS3Storage,
  createSqsQueue,
  type AwsClients,
  type MessageQueue,
  type ObjectStorage,
} from '@coach/aws';
import { createDb, JOB_EVENTS_CHANNEL, listenForNotifications, migrateToLatest, type Database, type Kysely } from '@coach/db';
import { startAnalysisWorker } from '@coach/worker';

import { loadOrCreateDevSecret } from './dev/dev-secret.ts';
import { dataDir } from './dev/paths.ts';
import type { ServerConfig } from './env.ts';

export interface Runtime {
  db: Kysely<Database>;
  storage: ObjectStorage;
  queue: MessageQueue;
  outbox: OutboxDispatcher;
  jobEvents: JobEvents;
  verifyToken: TokenVerifier;
  /** Stops background loops, then closes every connection, embedded servers last. */
  close(): Promise<void>;
}

/**
 * Wires the process: embedded Postgres and S3/SQS when the config asks for
 * them, migrations, AWS clients, the outbox relay. Everything started here is
 * stopped by `close()` in reverse order.
 */
export async function startRuntime(config: Readonly<ServerConfig>, logger: Logger): Promise<Runtime> {
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const fn of closers.reverse()) {
      try {
        await fn();
      } catch (error) {
        logger.error({ err: error }, 'shutdown step failed');
      }
    }
  };
  try {
    const root = dataDir(config.embeddedDataDir);
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const { startLocalPostgres } = await import('@coach/local-stack');
      const pg = await startLocalPostgres({ dataDir: `${root}/postgres`, database: 'coach_plus' });
      closers.push(() => pg.stop());
      databaseUrl = pg.url;
      logger.info({ port: pg.port, dataDir: pg.dataDir }, 'embedded Postgres started');
    }

    let aws: {
      region: string;
      endpoint?: string;
      bucket: string;
      queueUrl: string;
      deadLetterQueueUrl?: string;
      local: boolean;
    };
    if (config.aws.kind === 'embedded') {
      const { startLocalAws } = await import('@coach/local-stack');
      const local = await startLocalAws({ region: config.aws.region, corsOrigins: config.corsOrigins });
      closers.push(() => local.stop());
      await local.createBucket(config.aws.bucket);
      const { queueUrl, dlqUrl } = await local.createQueueWithDlq(config.aws.queueName, {
        maxReceiveCount: config.worker.worker.maxReceives,
        visibilityTimeoutSeconds: config.worker.worker.visibilityTimeoutSeconds,
      });
      aws = {
        region: config.aws.region,
        endpoint: local.endpoint,
        bucket: config.aws.bucket,
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        local: true,
      };
      logger.info({ endpoint: local.endpoint }, 'embedded S3/SQS emulator started (in memory)');
    } else {
      aws = { ...config.aws, local: false };
    }

    const db = createDb({
      connectionString: databaseUrl,
      onPoolError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
    });
    closers.push(() => db.destroy());
    await migrateToLatest(db);

    const clients: AwsClients = createAwsClients({
      region: aws.region,
      endpoint: aws.endpoint,
      credentials: aws.local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    });
    closers.push(() => clients.destroy());
    const storage = createS3Storage({ s3: clients.s3, signer: clients.s3Signer, bucket: aws.bucket });
    const queue = createSqsQueue({ sqs: clients.sqs, queueUrl: aws.queueUrl });

    const jobEvents = createJobEventHub({ db });
    closers.push(() => jobEvents.close());
    const listener = await listenForNotifications({
      connectionString: databaseUrl,
      channel: JOB_EVENTS_CHANNEL,
      onNotification: (jobId) => jobEvents.publish(jobId),
      onConnected: () => jobEvents.publishAll(),
      onError: (error) => logger.warn({ err: error }, 'job event listener disconnected; reconnecting'),
    });
    closers.push(() => listener.close());

    const outbox = createOutboxDispatcher({ db, queue, logger });
    const relay: OutboxRelay = startOutboxRelay({ dispatcher: outbox, logger });
    closers.push(() => relay.stop());
    // The outbox backlog and open jobs, read from Postgres at each scrape (the relay's process exports them).
    const backlog = observeBacklog({ db, logger });
    closers.push(() => backlog.stop());

    if (config.workerInProcess) {
      if (!aws.deadLetterQueueUrl) throw new Error('the in-process worker needs a dead-letter queue URL');
      // Long polls wait up to 20 s, so the worker's SQS client needs a longer request timeout.
      const workerClients = createAwsClients({
        region: aws.region,
        endpoint: aws.endpoint,
        credentials: aws.local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
        requestTimeoutMs: 30_000,
      });
      closers.push(() => workerClients.destroy());
      const worker = await startAnalysisWorker(
        {
          db,
          storage,
          queue: createSqsQueue({ sqs: workerClients.sqs, queueUrl: aws.queueUrl }),
          deadLetterQueue: createSqsQueue({ sqs: workerClients.sqs, queueUrl: aws.deadLetterQueueUrl }),
          logger,
        },
        config.worker,
      );
      closers.push(() => worker.stop());
      logger.info({ workerId: worker.id, model: config.worker.pose.model }, 'analysis worker running in this process');
    }

    const auth = config.auth;
    const verifyToken = createTokenVerifier(
      auth.kind === 'hs256-dev' ? { kind: 'hs256', secret: loadOrCreateDevSecret(root) } : auth,
    );

    return { db, storage, queue, outbox, jobEvents, verifyToken, close };
  } catch (error) {
    await close();
    throw error;
  }
}
