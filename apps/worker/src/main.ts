import { pino } from 'pino';

import { checkAwsResources, createAwsClients, createS3Storage, createSqsQueue, misconfigurationReport } from '@coach/aws';
import { createDb, isMigrated } from '@coach/db';
import { startTelemetry } from '@coach/telemetry';
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
// Migrations are their own step (`pnpm db:migrate`, or the API under `pnpm dev`): a worker
// that started on an older schema would fail every job it took, so it refuses to start.
if (!(await isMigrated(db))) {
  process.stderr.write('The database has pending migrations: run `pnpm db:migrate` (DATABASE_URL) first.\n');
  await db.destroy();
  process.exit(1);
}
const aws = createAwsClients({
  region: config.aws.region,
  s3Endpoint: config.aws.s3Endpoint,
  sqsEndpoint: config.aws.sqsEndpoint,
  // Long polls wait up to 20 s.
  requestTimeoutMs: 30_000,
});
const deps = {
  db,
  storage: createS3Storage({
    s3: aws.s3,
    signer: aws.s3Signer,
    bucket: config.aws.bucket,
    describedAs: { setting: 'S3_COACH_VIDEOS_BUCKET', endpoint: config.aws.s3Endpoint ?? `AWS ${config.aws.region}` },
  }),
  queue: createSqsQueue({ sqs: aws.sqs, queueUrl: config.aws.queueUrl, setting: 'SQS_VIDEO_ANALYSIS_QUEUE_URL' }),
  deadLetterQueue: createSqsQueue({
    sqs: aws.sqs,
    queueUrl: config.aws.deadLetterQueueUrl,
    setting: 'SQS_VIDEO_ANALYSIS_DLQ_URL',
  }),
  uploadEvents: config.aws.uploadEventsQueueUrl
    ? createSqsQueue({ sqs: aws.sqs, queueUrl: config.aws.uploadEventsQueueUrl, setting: 'SQS_UPLOAD_EVENTS_QUEUE_URL' })
    : undefined,
  logger,
};
// A wrong bucket or queue stops the worker at once, naming the setting, rather than failing every job.
const { misconfigured, unavailable } = await checkAwsResources([
  deps.storage,
  deps.queue,
  deps.deadLetterQueue,
  ...(deps.uploadEvents ? [deps.uploadEvents] : []),
]);
for (const error of unavailable) logger.warn({ err: error }, 'storage or queue did not answer at start; the consumer retries');
if (misconfigured.length > 0) {
  process.stderr.write(`${misconfigurationReport(misconfigured)}\n`);
  process.exit(1);
}
const worker = await startAnalysisWorker(deps, config.settings);
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
      await telemetry.shutdown();
      process.exit(0);
    })();
  });
}
