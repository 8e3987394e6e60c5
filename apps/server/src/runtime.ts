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
  checkAwsResources,
  createAwsClients,
  createS3Storage,
  createSqsQueue,
  misconfigurationReport,
  type AwsClients,
  type MessageQueue,
  type ObjectStorage,
} from '@coach/aws';
import { createDb, JOB_EVENTS_CHANNEL, listenForNotifications, migrateToLatest, type Database, type Kysely } from '@coach/db';
import { startAnalysisWorker } from '@coach/worker';

import { loadOrCreateDevSecret } from './dev/dev-secret.ts';
import { dataDir } from './dev/paths.ts';
import { ConfigError, type ServerConfig } from './env.ts';

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

/** The process cannot serve as configured; the message says what to fix. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * Throws a StartupError naming every bucket or queue that is missing or
 * refuses this process; one that does not answer now is left to readiness.
 */
async function refuseMisconfiguredAws(resources: readonly { ping(): Promise<void> }[], logger: Logger): Promise<void> {
  const { misconfigured, unavailable } = await checkAwsResources(resources);
  for (const error of unavailable) logger.warn({ err: error }, 'storage or queue did not answer at start; readiness will tell');
  if (misconfigured.length > 0) {
    throw new StartupError(misconfigurationReport(misconfigured));
  }
}

/**
 * The embedded Postgres and S3/SQS, a development dependency: a production
 * build has no copy of it, so asking for it there gets a plain answer.
 */
async function loadLocalStack(): Promise<typeof import('@coach/local-stack')> {
  try {
    return await import('@coach/local-stack');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigError(
      'Invalid configuration:\n  - DATABASE_URL, S3_COACH_VIDEOS_BUCKET, SQS_VIDEO_ANALYSIS_QUEUE_URL: required by this build, which has no embedded Postgres or S3/SQS (those run only under `pnpm dev`)',
      { cause: error },
    );
  }
}

/** Postgres' `admin_shutdown`: the server is stopping and ends every session. */
const ADMIN_SHUTDOWN = '57P01';

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
      const { startLocalPostgres } = await loadLocalStack();
      const pg = await startLocalPostgres({ dataDir: `${root}/postgres`, database: 'coach_plus' });
      closers.push(() => pg.stop());
      databaseUrl = pg.url;
      logger.info({ port: pg.port, dataDir: pg.dataDir }, 'embedded Postgres started');
    }

    let aws: {
      region: string;
      s3Endpoint?: string;
      sqsEndpoint?: string;
      s3PublicEndpoint?: string;
      bucket: string;
      queueUrl: string;
      deadLetterQueueUrl?: string;
      local: boolean;
    };
    if (config.aws.kind === 'embedded') {
      const { startLocalAws } = await loadLocalStack();
      // With a public endpoint (a phone on the LAN), the emulator listens where that URL points.
      const publicPort = config.aws.s3PublicEndpoint ? Number(new URL(config.aws.s3PublicEndpoint).port) : undefined;
      const local = await startLocalAws({
        region: config.aws.region,
        corsOrigins: config.corsOrigins,
        ...(publicPort ? { host: config.host, port: publicPort } : {}),
      });
      closers.push(() => local.stop());
      await local.createBucket(config.aws.bucket);
      const { queueUrl, dlqUrl } = await local.createQueueWithDlq(config.aws.queueName, {
        maxReceiveCount: config.worker.worker.maxReceives,
        visibilityTimeoutSeconds: config.worker.worker.visibilityTimeoutSeconds,
      });
      aws = {
        region: config.aws.region,
        s3Endpoint: local.endpoint,
        sqsEndpoint: local.endpoint,
        s3PublicEndpoint: config.aws.s3PublicEndpoint,
        bucket: config.aws.bucket,
        queueUrl,
        deadLetterQueueUrl: dlqUrl,
        local: true,
      };
      logger.info(
        { endpoint: local.endpoint, publicEndpoint: config.aws.s3PublicEndpoint },
        'embedded S3/SQS emulator started (in memory)',
      );
    } else {
      aws = { ...config.aws, local: false };
    }

    // The pool's end() resolves once its clients are told to end, not once their sockets have
    // closed, so the embedded Postgres stopping next may still reach one with its shutdown notice
    // (57P01): expected then, and not worth a warning.
    let poolClosed = false;
    const db = createDb({
      connectionString: databaseUrl,
      onPoolError: (error) => {
        if (poolClosed && (error as { code?: unknown }).code === ADMIN_SHUTDOWN) return;
        logger.warn({ err: error }, 'idle database connection failed');
      },
    });
    closers.push(() => {
      poolClosed = true;
      return db.destroy();
    });
    // In production migrations are their own step (`pnpm db:migrate`), run once per deploy;
    // until it has run, /readyz answers 503 "not migrated".
    if (config.env !== 'production') await migrateToLatest(db);

    const endpoints = { s3Endpoint: aws.s3Endpoint, sqsEndpoint: aws.sqsEndpoint, s3PublicEndpoint: aws.s3PublicEndpoint };
    const clients: AwsClients = createAwsClients({
      region: aws.region,
      ...endpoints,
      credentials: aws.local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    });
    closers.push(() => clients.destroy());
    const storage = createS3Storage({
      s3: clients.s3,
      signer: clients.s3Signer,
      bucket: aws.bucket,
      describedAs: { setting: 'S3_COACH_VIDEOS_BUCKET', endpoint: aws.s3Endpoint ?? `AWS ${aws.region}` },
    });
    const queue = createSqsQueue({ sqs: clients.sqs, queueUrl: aws.queueUrl, setting: 'SQS_VIDEO_ANALYSIS_QUEUE_URL' });
    const deadLetterQueue = aws.deadLetterQueueUrl
      ? createSqsQueue({ sqs: clients.sqs, queueUrl: aws.deadLetterQueueUrl, setting: 'SQS_VIDEO_ANALYSIS_DLQ_URL' })
      : undefined;
    if (config.env === 'production') {
      // A wrong bucket or queue must stop a release at once, not surface as failed uploads.
      // The dead-letter queue is this process's only when the worker runs here.
      await refuseMisconfiguredAws(
        [storage, queue, ...(config.workerInProcess && deadLetterQueue ? [deadLetterQueue] : [])],
        logger,
      );
    }

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
        ...endpoints,
        credentials: aws.local ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
        requestTimeoutMs: 30_000,
      });
      closers.push(() => workerClients.destroy());
      const worker = await startAnalysisWorker(
        {
          db,
          storage,
          queue: createSqsQueue({ sqs: workerClients.sqs, queueUrl: aws.queueUrl, setting: 'SQS_VIDEO_ANALYSIS_QUEUE_URL' }),
          deadLetterQueue: createSqsQueue({
            sqs: workerClients.sqs,
            queueUrl: aws.deadLetterQueueUrl,
            setting: 'SQS_VIDEO_ANALYSIS_DLQ_URL',
          }),
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
