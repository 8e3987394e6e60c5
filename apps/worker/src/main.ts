import { pino } from 'pino';

import { createAwsClients, createS3Storage, createSqsQueue } from '@coach/aws';
import { createDb, migrateToLatest } from '@coach/db';
import { startTelemetry } from '@coach/telemetry';
import { startAnalysisWorker, workerShutdownMs } from '@coach/worker';

import { loadWorkerConfig } from './env.ts';

let config;
try {
  config = loadWorkerConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

const logger = pino({ level: config.logLevel });
// First: instruments created from here on record into the SDK.
const telemetry = await startTelemetry({
  metrics: config.metrics,
  otlpTracesUrl: config.otlpTracesUrl,
  serviceName: 'coach-plus-worker',
});
if (telemetry.metricsUrl) logger.info({ metricsUrl: telemetry.metricsUrl }, 'metrics endpoint ready');
const db = createDb({
  connectionString: config.databaseUrl,
  maxConnections: config.settings.worker.concurrency + 4,
  onPoolError: (error) => logger.warn({ err: error }, 'idle database connection failed'),
});
// The migrator takes a lock, so API and worker processes may both run it at start-up.
await migrateToLatest(db);
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

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new jobs; in-flight jobs finish or are released');
    const force = setTimeout(() => process.exit(1), workerShutdownMs(config.settings.worker));
    force.unref();
    void (async () => {
      await worker.stop();
      aws.destroy();
      await db.destroy();
      await telemetry.shutdown();
      process.exit(0);
    })();
  });
}
