import { pino } from 'pino';

import { createAwsClients, createS3Storage, createSqsQueue } from '@coach/aws';
import { createDb, isMigrated } from '@coach/db';
import { startAnalysisWorker, workerShutdownMs } from '@coach/worker';

import { loadWorkerConfig } from './env.ts';
import { startHeartbeat } from './heartbeat.ts';

let config;
try {
  config = loadWorkerConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const logger = pino({ level: config.logLevel });
const db = createDb({
  connectionString: config.databaseUrl,
  maxConnections: config.settings.worker.concurrency + 4,
  onPoolError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
});
// Migrations are their own step (`pnpm db:migrate`, or the API under `pnpm dev`): a worker
// that started on an older schema would fail every job it took, so it refuses to start.
if (!(await isMigrated(db))) {
  process.stderr.write('The database has pending migrations: run `pnpm db:migrate` (DATABASE_URL) first.\n');
  await db.destroy();
  process.exit(1);
}
const aws = createAwsClients({
  region: config.aws.region,
  endpoint: config.aws.endpoint,
  // Long polls wait up to 20 s.
  requestTimeoutMs: 30_000,
});
const worker = await startAnalysisWorker(
  {
    db,
    storage: createS3Storage({ s3: aws.s3, signer: aws.s3Signer, bucket: config.aws.bucket }),
    queue: createSqsQueue({ sqs: aws.sqs, queueUrl: config.aws.queueUrl }),
    deadLetterQueue: createSqsQueue({ sqs: aws.sqs, queueUrl: config.aws.deadLetterQueueUrl }),
    uploadEvents: config.aws.uploadEventsQueueUrl
      ? createSqsQueue({ sqs: aws.sqs, queueUrl: config.aws.uploadEventsQueueUrl })
      : undefined,
    logger,
  },
  config.settings,
);
const heartbeat = config.heartbeatFile ? await startHeartbeat(config.heartbeatFile) : undefined;

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new jobs; in-flight jobs finish or are released');
    const force = setTimeout(() => process.exit(1), workerShutdownMs(config.settings.worker));
    force.unref();
    void (async () => {
      await heartbeat?.stop();
      await worker.stop();
      aws.destroy();
      await db.destroy();
      process.exit(0);
    })();
  });
}
